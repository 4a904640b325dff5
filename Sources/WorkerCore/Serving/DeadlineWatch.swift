import CLinux
import Dispatch
import Foundation
import Synchronization

/// Runs actions at deadlines, from one thread of its own: the task timeouts' interrupt, the
/// early answer to a waiting caller and the stuck mark.
///
/// A timer task per task cost a trivial predict over HTTP two thirds of its throughput (two more
/// tasks, a timer each, and their hand-offs). Here a task costs a lock, an insert and a remove,
/// and wakes nobody: the thread plans its next look at the earliest deadline or a second ahead,
/// and is signalled only for a deadline earlier than that. The watched tasks are the running
/// ones, at most a few per slot, so each look scans them all.
final class DeadlineWatch: Sendable {
    /// One watched task's actions, each at its time, earliest first.
    typealias Stages = [(at: UInt64, action: @Sendable () -> Void)]

    private struct State {
        var entries: [UInt64: Stages] = [:]
        var nextID: UInt64 = 0
        /// When the thread looks next (nanoseconds of `DispatchTime`'s clock).
        var plannedLook: UInt64 = 0
    }

    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// A watch with its thread; the thread ends within a second of the watch going away.
    init() {
        let thread = Thread { [weak self] in
            clinux_name_this_thread("deadline-watch")
            while let watch = self {
                let look = watch.lookOnce()
                _ = watch.wakeUp.wait(timeout: DispatchTime(uptimeNanoseconds: look))
            }
        }
        thread.start()
    }

    /// Runs each of `stages` at its time (offsets from now, earliest first) until ``cancel(_:)``;
    /// returns the ticket to cancel with.
    func watch(_ stages: [(after: Duration, action: @Sendable () -> Void)]) -> UInt64 {
        let now = DispatchTime.now().uptimeNanoseconds
        let timed: Stages = stages.map { (now &+ Self.nanoseconds($0.after), $0.action) }
        let (ticket, signal) = state.withLock { state -> (UInt64, Bool) in
            state.nextID &+= 1
            state.entries[state.nextID] = timed
            return (state.nextID, (timed.first?.at ?? .max) < state.plannedLook)
        }
        if signal { wakeUp.signal() }
        return ticket
    }

    /// Drops what is left of `ticket`'s stages; one already running ends on its own.
    func cancel(_ ticket: UInt64) {
        _ = state.withLock { $0.entries.removeValue(forKey: ticket) }
    }

    /// Runs the stages due now; returns when to look next.
    private func lookOnce() -> UInt64 {
        let now = DispatchTime.now().uptimeNanoseconds
        let (due, look) = state.withLock { state -> (Stages, UInt64) in
            var due: Stages = []
            var look = now &+ 1_000_000_000
            for (ticket, stages) in state.entries {
                var left = stages[...]
                while let first = left.first, first.at <= now {
                    due.append(first)
                    left = left.dropFirst()
                }
                if let next = left.first {
                    state.entries[ticket] = Array(left)
                    look = min(look, next.at)
                } else {
                    state.entries[ticket] = nil
                }
            }
            state.plannedLook = look
            return (due, look)
        }
        // In time order, also when a late look finds several due.
        for stage in due.sorted(by: { $0.at < $1.at }) { stage.action() }
        return look
    }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}
