"""``FeedbackPluginManager``: the isolating plugin manager, and loading plugins from entry
points. (Building one with the built-in plugin and its store: ``host.get_plugin_manager``.)

Every hook implementation registered here is wrapped so that its exception is logged
with the plugin's name and the hook, counted, and swallowed: the other implementations
still run and the host never sees it (unless ``strict`` is configured). An
implementation of a hook that does not exist is refused when it is registered.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterable
from importlib import metadata as importlib_metadata
from typing import Any, Protocol

import attrs
import pluggy

from orchestrator_feedback import hookspecs
from orchestrator_feedback.config import FeedbackConfig
from orchestrator_feedback.counters import FeedbackCounters
from orchestrator_feedback.errors import (
    FeedbackNotStoredError,
    FeedbackRejected,
    FeedbackValidationError,
    PluginLoadError,
    reaches_the_host,
)
from orchestrator_feedback.host_events import HostEvents
from orchestrator_feedback.markers import PROJECT_NAME
from orchestrator_feedback.models import FeedbackEntry, validate_metadata
from orchestrator_feedback.plugin import BUILTIN_PLUGIN_NAME, FeedbackPlugin

__all__ = [
    "ENV_DISABLE_PLUGINS",
    "ENV_PLUGINS",
    "FeedbackPluginManager",
    "PluginInfo",
]

logger = logging.getLogger("orchestrator_feedback.plugins")

ENV_PLUGINS = "ORCHESTRATOR_FEEDBACK_PLUGINS"
ENV_DISABLE_PLUGINS = "ORCHESTRATOR_FEEDBACK_DISABLE_PLUGINS"


class _Closable(Protocol):
    def close(self) -> None: ...


class _StandIn:
    """What pluggy registers for a plugin: its hook implementations, each isolated."""

    def __init__(self, plugin: object, implementations: dict[str, Any]) -> None:
        self.__dict__.update(implementations)
        self._plugin = plugin

    def __repr__(self) -> str:
        return repr(self._plugin)


@attrs.define
class PluginInfo:
    """One plugin that was found: what it is, and whether it runs."""

    name: str
    """The name it is registered (or was refused) under."""
    version: str | None
    """Its distribution's version, when it came from an installed package."""
    distribution: str | None
    """The installed package that provides it."""
    hooks: list[str]
    """The hooks it implements (empty unless active)."""
    status: str
    """``"active"``, ``"disabled"`` (by configuration or environment) or ``"failed"``."""
    error: str | None = None
    """Why a failed plugin failed."""


class FeedbackPluginManager(pluggy.PluginManager):
    """A ``pluggy.PluginManager`` that isolates every implementation and counts failures."""

    def __init__(self, config: FeedbackConfig) -> None:
        super().__init__(PROJECT_NAME)
        self.config = config
        """The configuration in force."""
        self.counters = FeedbackCounters()
        """Recorded, rejected, dropped entries and subscriber failures."""
        self.found: dict[str, PluginInfo] = {}
        """Plugins seen through entry points, by name, including refused ones."""
        self._owned: list[_Closable] = []
        self._implemented: frozenset[str] | None = None
        self._plugins: dict[int, Any] = {}  # by id of the stand-in registered for each
        self._stand_ins: dict[int, _StandIn] = {}  # by id of the plugin
        self.add_hookspecs(hookspecs)

    def has_implementations(self, hook_name: str) -> bool:
        """Whether any plugin implements ``hook_name`` (cached until the next (un)register).

        Lets the built-in plugin skip firing hooks nobody listens to, on the hot path.
        """
        return hook_name in (self._implemented or self._find_implemented())

    def has_any_implementation(self, hook_names: frozenset[str]) -> bool:
        """Whether any plugin implements any of ``hook_names`` (cached like
        ``has_implementations``)."""
        return not hook_names.isdisjoint(self._implemented or self._find_implemented())

    def _find_implemented(self) -> frozenset[str]:
        self._implemented = frozenset(
            name
            for name, caller in vars(self.hook).items()
            if isinstance(caller, pluggy.HookCaller) and caller.get_hookimpls()
        )
        return self._implemented

    # Isolation through pluggy's public API: each plugin is registered as a stand-in whose
    # hook implementations are the plugin's, each wrapped (``_isolate``); the methods below
    # speak of the plugin itself, so callers never see the stand-in.

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin``; refuse it (and raise) if it implements an unknown hook."""
        self._implemented = None
        if plugin is None:
            return None
        plugin_name = name or self.get_canonical_name(plugin)
        if self.is_registered(plugin):
            raise ValueError(f"Plugin already registered: {plugin_name}={plugin}")
        stand_in = self._stand_in(plugin, plugin_name)
        if super().register(stand_in, plugin_name) is None:
            return None
        self._plugins[id(stand_in)] = plugin
        self._stand_ins[id(plugin)] = stand_in
        try:
            self.check_pending()
        except pluggy.PluginValidationError:
            self.unregister(plugin)
            raise
        return plugin_name

    def _stand_in(self, plugin: object, plugin_name: str) -> _StandIn:
        """``plugin``'s hook implementations, each isolated, on an object of their own
        (wrappers, which wrap the others' calls, as they are)."""
        implementations: dict[str, Any] = {}
        for attribute in dir(plugin):
            options = self.parse_hookimpl_opts(plugin, attribute)
            if options is None:
                continue
            function = getattr(plugin, attribute)
            if options.get("hookwrapper") or options.get("wrapper"):
                implementations[attribute] = function
            else:
                hook = options.get("specname") or attribute
                implementations[attribute] = self._isolate(function, plugin_name, hook)
        return _StandIn(plugin, implementations)

    def _stand_in_of(self, plugin: object | None) -> object | None:
        return None if plugin is None else self._stand_ins.get(id(plugin), plugin)

    def _plugin_of(self, stand_in: object) -> Any:
        return self._plugins.get(id(stand_in), stand_in)

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        """Unregister a plugin (by object or name), as pluggy does; return the plugin."""
        self._implemented = None
        stand_in = super().unregister(self._stand_in_of(plugin), name)
        original = self._plugins.pop(id(stand_in), stand_in)
        self._stand_ins.pop(id(original), None)
        return original

    def get_plugin(self, name: str) -> Any | None:
        """The plugin registered under ``name``, or None."""
        stand_in = super().get_plugin(name)
        return None if stand_in is None else self._plugin_of(stand_in)

    def get_plugins(self) -> set[Any]:
        """Every registered plugin."""
        return {self._plugin_of(stand_in) for stand_in in super().get_plugins()}

    def list_name_plugin(self) -> list[tuple[str, Any]]:
        """Every registered plugin with its name."""
        return [(name, self._plugin_of(p)) for name, p in super().list_name_plugin()]

    def is_registered(self, plugin: object) -> bool:
        """Whether ``plugin`` is registered."""
        return super().is_registered(self._stand_in_of(plugin))

    def get_name(self, plugin: object) -> str | None:
        """The name ``plugin`` is registered under, or None."""
        return super().get_name(self._stand_in_of(plugin))

    def subset_hook_caller(
        self, name: str, remove_plugins: Iterable[object]
    ) -> pluggy.HookCaller:
        """The hook ``name`` without the implementations of ``remove_plugins``."""
        return super().subset_hook_caller(
            name, [self._stand_in_of(plugin) for plugin in remove_plugins]
        )

    def get_hookcallers(self, plugin: object) -> list[pluggy.HookCaller] | None:
        """The hook callers ``plugin`` implements, or None when it is not registered."""
        return super().get_hookcallers(self._stand_in_of(plugin))

    def _isolate(self, function: Callable[..., Any], plugin: str, hook: str) -> Callable[..., Any]:
        manager = self
        passes_through: tuple[type[BaseException], ...] = (
            (FeedbackRejected,) if hook == "feedback_prepare" else (FeedbackNotStoredError,)
        )

        @functools.wraps(function)
        def isolated(*args: Any) -> Any:
            try:
                result = function(*args)
                if hook == "feedback_prepare":
                    _check_prepared(args, plugin)
                return result
            except passes_through:
                raise
            except BaseException as error:  # SystemExit, CancelledError: still the plugin's
                if reaches_the_host(error):
                    raise
                manager.counters.add("subscriber_failures")
                logger.exception("plugin %r failed in hook %s", plugin, hook)
                if manager.config.strict:
                    raise
                return None

        return isolated

    @property
    def events(self) -> HostEvents:
        """The typed host API over ``hook``: ``pm.events.task_completed(task_id=..., ...)``
        checks the call against the hookspec (mypy, and at run time) before firing it."""
        return HostEvents(self)

    @property
    def feedback_plugin(self) -> FeedbackPlugin | None:
        """The built-in plugin, or None when it is disabled."""
        plugin = self.get_plugin(BUILTIN_PLUGIN_NAME)
        return plugin if isinstance(plugin, FeedbackPlugin) else None

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the built-in plugin's queued entries are committed (background mode)."""
        plugin = self.feedback_plugin
        return True if plugin is None else plugin.flush(timeout)

    def own(self, resource: _Closable) -> None:
        """Close ``resource`` (a store this manager's builder opened) with the manager."""
        self._owned.append(resource)

    def close(self) -> None:
        """Close the storages this manager opened itself (flushing background writes)."""
        for resource in self._owned:
            resource.close()
        self._owned.clear()

    def load_entry_points(self) -> None:
        """Register the plugins of the entry-point group ``orchestrator_feedback`` that the
        configuration and ``ORCHESTRATOR_FEEDBACK_PLUGINS`` / ``..._DISABLE_PLUGINS``
        allow; record every one found (refused and failed ones too) in ``found``."""
        _load_entry_points(self)


def _check_prepared(arguments: tuple[Any, ...], plugin: str) -> None:
    """After a ``feedback_prepare`` implementation: the entry it may have changed in place is
    still storable, or that plugin is named in the rejection (not the built-in plugin later,
    when the entry fails to encode)."""
    for argument in arguments:
        if type(argument) is FeedbackEntry:
            try:
                validate_metadata(argument.metadata)
            except FeedbackValidationError as problem:
                raise FeedbackRejected(
                    f"plugin {plugin!r} left the entry unstorable in feedback_prepare: {problem}"
                ) from None


def _names(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


def _allowed_and_denied(config: FeedbackConfig) -> tuple[set[str] | None, set[str]]:
    allowed: set[str] | None = None
    if ENV_PLUGINS in os.environ:
        allowed = _names(os.environ[ENV_PLUGINS])  # an empty value allows none
    elif config.plugins.enable is not None:
        allowed = set(config.plugins.enable)
    denied = set(config.plugins.disable) | _names(os.environ.get(ENV_DISABLE_PLUGINS, ""))
    return allowed, denied


def _load_entry_points(manager: FeedbackPluginManager) -> None:
    allowed, denied = _allowed_and_denied(manager.config)
    for entry_point in importlib_metadata.entry_points(group=PROJECT_NAME):
        distribution = entry_point.dist
        info = PluginInfo(
            name=entry_point.name,
            version=distribution.version if distribution else None,
            distribution=distribution.name if distribution else None,
            hooks=[],
            status="active",
        )
        manager.found[entry_point.name] = info
        if entry_point.name in denied or (allowed is not None and entry_point.name not in allowed):
            info.status = "disabled"
            manager.set_blocked(entry_point.name)
            continue
        try:
            manager.register(entry_point.load(), name=entry_point.name)
        except Exception as error:
            info.status, info.error = "failed", f"{type(error).__name__}: {error}"
            if manager.config.strict:
                raise PluginLoadError(
                    f"plugin {entry_point.name!r} failed to load: {error}"
                ) from error
            logger.exception("plugin %r failed to load and is skipped", entry_point.name)
