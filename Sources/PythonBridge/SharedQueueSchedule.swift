/// Which of a group's threads runs the next piece of work from the queue they share: the
/// decisions of ``PythonThreads``, kept apart from threads and clocks so they can be tested alone.
///
/// The aim is that adding threads never slows work that holds the GIL, while work that lets go
/// of it (sleep, I/O, numpy, torch) still overlaps across threads:
/// - A thread that finishes a piece takes the next one itself, back to back, without waking
///   anyone: short Python calls stay on one hot thread instead of handing the GIL between
///   threads (futex wake-ups that cost more than the calls).
/// - An idle thread is woken for queued work only when no thread runs, or when every running
///   thread has been in its piece for at least ``takeover``: a call that long is most likely
///   waiting with the GIL released, so another thread may as well run the next piece.
/// - While a running piece is younger than that, one idle thread stands by with a deadline
///   (``MemberState/standby(deadline:)``) and looks again then, so queued work waits at most
///   ``takeover`` behind a call that turns out long.
///
/// Times are nanoseconds of a monotonic clock, given by the caller.
struct SharedQueueSchedule<Message> {
    /// What one thread of the group is doing.
    enum MemberState: Equatable {
        /// Waiting to be woken, with nothing to do.
        case idle
        /// Told to take the queue's head; counts as about to run.
        case woken
        /// Waiting until `deadline`, then looking whether the running pieces became long.
        case standby(deadline: UInt64)
        /// Running a piece since `since`.
        case running(since: UInt64)
        /// Ended by ``stop()``.
        case stopped
    }

    /// What a thread does next.
    enum Step {
        /// Run `message`; first wake `wake`, if any, for the work still queued.
        case run(Message, wake: Int?)
        /// Wait until woken, or until `deadline` when there is one.
        case wait(deadline: UInt64?)
        /// End the thread: the group stopped and nothing is left to run.
        case exit
    }

    /// How long a piece runs before queued work may go to another thread.
    let takeover: UInt64
    private(set) var messages: [Message] = []
    private(set) var members: [MemberState]
    /// Idle threads, the most recently idle last: it is woken first, its caches still warm.
    private var idle: [Int]
    private(set) var stopping = false

    /// A schedule for `count` idle threads.
    init(count: Int, takeover: UInt64) {
        self.takeover = takeover
        self.members = Array(repeating: .idle, count: count)
        self.idle = Array((0..<count).reversed())
    }

    /// Queues `message`; returns the thread to wake for it, if one should be.
    mutating func enqueue(_ message: Message, now: UInt64) -> Int? {
        messages.append(message)
        return dispatch(now: now)
    }

    /// Stops the group once the queue is empty; returns every thread to wake (each takes what
    /// is left or ends).
    mutating func stop() -> [Int] {
        stopping = true
        var wake: [Int] = []
        for index in members.indices {
            switch members[index] {
            case .idle, .standby:
                members[index] = .woken
                wake.append(index)
            case .woken, .running, .stopped:
                break
            }
        }
        idle = []
        return wake
    }

    /// What thread `member` does next: called when it finished a piece, and whenever it wakes.
    mutating func next(for member: Int, now: UInt64) -> Step {
        switch members[member] {
        case .running, .woken:
            return takeHead(member, now: now) ?? rest(member)
        case .standby(let deadline):
            if now < deadline { return .wait(deadline: deadline) }
            // It looks as if it had just become idle: `dispatch` wakes the most recently idle
            // thread first, which is this one.
            becomeIdle(member)
            _ = dispatch(now: now)
            switch members[member] {
            case .woken: return takeHead(member, now: now) ?? rest(member)
            case .standby(let deadline): return .wait(deadline: deadline)
            // Still idle: nothing is queued, or a thread was already woken for it.
            default: return .wait(deadline: nil)
            }
        case .idle:
            return .wait(deadline: nil)
        case .stopped:
            return .exit
        }
    }

    private mutating func takeHead(_ member: Int, now: UInt64) -> Step? {
        guard !messages.isEmpty else { return nil }
        let message = messages.removeFirst()
        members[member] = .running(since: now)
        return .run(message, wake: dispatch(now: now))
    }

    /// Nothing queued for `member`: it ends when the group stops, else waits.
    private mutating func rest(_ member: Int) -> Step {
        if stopping {
            members[member] = .stopped
            return .exit
        }
        becomeIdle(member)
        return .wait(deadline: nil)
    }

    private mutating func becomeIdle(_ member: Int) {
        members[member] = .idle
        idle.append(member)
    }

    /// Decides who takes queued work: nobody new while a thread is about to; an idle thread now
    /// when none runs or every running piece is long; else a standby with a deadline.
    ///
    /// A thread that goes idle always becomes the most recently idle, so work that comes in
    /// bursts with idle gaps keeps going to the same thread.
    private mutating func dispatch(now: UInt64) -> Int? {
        guard !messages.isEmpty else { return nil }
        var youngest: UInt64?
        var standby: Int?
        for (index, state) in members.enumerated() {
            switch state {
            case .woken: return nil
            case .running(let since): youngest = max(youngest ?? since, since)
            case .standby: standby = index
            case .idle, .stopped: break
            }
        }
        if let youngest, now &- youngest < takeover {
            guard standby == nil, let member = idle.popLast() else { return nil }
            members[member] = .standby(deadline: youngest + takeover)
            return member
        }
        // The most recently idle thread first (with nothing running, the one that ran last); the
        // standby when no other is idle.
        guard let member = idle.popLast() ?? standby else { return nil }
        members[member] = .woken
        return member
    }
}
