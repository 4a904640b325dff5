import Dispatch

/// Waits `milliseconds` even in a cancelled task, for the loops that must see a process end (a
/// stop, a drain, a `prepare`) whatever becomes of the task that waits: `Task.sleep` returns at
/// once in a cancelled task, and such a loop would spin on a core until the process ended.
func pause(milliseconds: Int) async {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(milliseconds)) { continuation.resume() }
    }
}
