import Synchronization

/// Lets exactly one of a request's answers out: its predict's, or the 504 that the task timeout
/// gives early while a predict that cannot be interrupted runs on.
final class FirstAnswer: Sendable {
    private let answered = Atomic(false)

    /// True for the first caller only.
    func claim() -> Bool {
        !answered.exchange(true, ordering: .acquiringAndReleasing)
    }
}
