/// How a ``SyncRedisConnection`` waits for a reply: it polls its socket a few times, yielding the
/// CPU between polls, before it sleeps in `recv`.
///
/// A reply from a broker on the same host comes within tens of microseconds, sooner than a
/// sleeping thread is woken (on virtual machines, where waking a thread on an idle CPU is an
/// interrupt through the hypervisor, it took longer than the reply). Polling with `sched_yield`
/// between polls gives the CPU to any other thread that can run, so it only uses time nothing
/// else wants. A broker far enough away that replies keep arriving after the polls (several
/// misses in a row) makes the connection skip polling for a while, so a remote broker costs
/// almost no polling.
struct ReplyPolling {
    /// Polls per wait.
    static let polls = 100
    /// Waits in a row whose reply came after the polls before polling rests.
    static let missesBeforeRest = 4
    /// Waits that sleep at once while polling rests.
    static let rest = 64

    private var misses = 0
    private var resting = 0

    /// How many polls the next wait makes before it sleeps.
    mutating func pollsForNextWait() -> Int {
        guard resting == 0 else {
            resting -= 1
            return 0
        }
        return Self.polls
    }

    /// Records whether a wait that polled got its reply while polling.
    mutating func record(caught: Bool) {
        guard !caught else {
            misses = 0
            return
        }
        misses += 1
        if misses == Self.missesBeforeRest {
            misses = 0
            resting = Self.rest
        }
    }
}
