"""Let widget messages (a Stop click) reach the kernel while a ``%%metatune`` cell runs.

While a cell runs, the kernel's main thread is busy and reads no shell messages, so a
click on a widget button would only arrive after the study ends. Two ways out:

1. JupyterLab >= 4.4 and Notebook >= 7.4 with ipykernel >= 7 send widget messages to a
   kernel *subshell* (setting "Kernel Comms over subshells", default
   ``perCommTarget``). The subshell runs in its own thread and handles the click at
   once. Nothing to do here.
2. Other front ends send them to the main shell, where they queue behind the running
   cell. :class:`KernelCommPump` is a study callback that, between trials, reads the
   messages queued for the main shell: widget (comm) messages are handled right away;
   everything else (the next cells of "Run All", completions) is kept and handed back
   to the kernel, in order, once the cell ends. This is what ``jupyter_ui_poll`` does
   for older kernels, adapted to ipykernel 7's shell-channel thread.

The pump only runs under ipykernel 7's threaded shell channel; elsewhere
:func:`comm_pump_for` returns ``None`` and case 1 is the only way.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from .._imports import LazyImport

__all__ = ["KernelCommPump", "comm_pump_for"]

# pyzmq comes with ipykernel; a pump exists only under ipykernel, so it is there when used.
zmq = LazyImport("zmq", install="pip install pyzmq")

log = logging.getLogger(__name__)

_COMM_TYPES = {"comm_open", "comm_msg", "comm_close"}


def comm_pump_for(shell: Any) -> KernelCommPump | None:
    """A pump for this IPython shell's kernel, or ``None`` when its kernel cannot be pumped."""
    kernel = getattr(shell, "kernel", None)
    thread = getattr(kernel, "shell_channel_thread", None)
    manager = getattr(thread, "manager", None)
    needed = ("get_parent", "set_parent", "dispatch_shell", "shell_main", "session", "io_loop")
    if manager is None or not all(hasattr(kernel, n) for n in needed):
        return None
    try:
        pair = manager.get_shell_channel_to_subshell_pair(None)
    except Exception:  # noqa: BLE001 - an ipykernel without this layout: no pump, said in the log
        log.debug("ipykernel has no main-shell socket pair; widget clicks wait for the cell", exc_info=True)
        return None
    return KernelCommPump(kernel, pair.to_socket)


class KernelCommPump:
    """A study callback that handles queued widget messages between trials.

    Parameters
    ----------
    kernel:
        The ipykernel kernel (``get_ipython().kernel``).
    socket:
        The main shell's end of the socket pair on which the shell-channel thread
        forwards its messages.
    """

    def __init__(self, kernel: Any, socket: Any) -> None:
        self.kernel = kernel
        self.socket = socket
        self.deferred: list[list[Any]] = []
        self.n_comm_messages = 0

    def __call__(self, snap: Any) -> None:
        if snap.event in ("trial_start", "trial_end", "end"):
            self.pump()
        if snap.event == "end":
            self.release()

    def pump(self) -> int:
        """Handle every widget message queued now; keep the rest. Returns how many were handled."""
        handled = 0
        while True:
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return handled
            if self._msg_type(frames) in _COMM_TYPES:
                self._dispatch_now(frames)
                handled += 1
                self.n_comm_messages += 1
            else:
                self.deferred.append(frames)

    def _msg_type(self, frames: list[Any]) -> str | None:
        session = self.kernel.session
        try:
            _, rest = session.feed_identities(frames, copy=False)
            return session.deserialize(rest, content=False, copy=False)["header"]["msg_type"]
        except Exception:  # noqa: BLE001 - let the kernel itself report a malformed message later
            return None

    def _dispatch_now(self, frames: list[Any]) -> None:
        """Run the kernel's own handler for one comm message, keeping the cell's parent.

        The handler is a coroutine; it runs to completion on a private event loop in a
        helper thread (the main thread's loop is busy running this very cell) while the
        main thread waits, so widget callbacks never run concurrently with the study.
        """
        kernel = self.kernel
        parent = kernel.get_parent("shell")
        ident = kernel._get_shell_context_var(kernel._shell_parent_ident)
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(kernel.dispatch_shell(frames, subshell_id=None, concurrent=True))
            except BaseException as error:  # noqa: BLE001 - reported below, in the main thread
                failure.append(error)

        worker = threading.Thread(target=run, name="metahpo-comm-pump")
        worker.start()
        worker.join()
        # Output printed by the cell after this point must still belong to the cell.
        kernel.set_parent(ident, parent, channel="shell")
        if failure:
            log.warning("a widget message could not be handled during the study: %r", failure[0])

    def release(self) -> None:
        """Hand the kept messages back to the kernel, to run in order after this cell."""
        if not self.deferred:
            return
        kept, self.deferred = self.deferred, []
        kernel = self.kernel

        async def replay() -> None:
            for frames in kept:
                await kernel.shell_main(None, frames)

        kernel.io_loop.add_callback(replay)
