/// Which of a group's threads runs the next piece of work from the queue they share: the
/// decisions of ``PythonThreads``, kept apart from threads and clocks so they can be tested alone.
///
/// The aim is that adding threads never slows work that holds the GIL, while work that lets go
/// of it (sleep, I/O, numpy, torch) still overlaps across threads:
/// - A thread that finishes a piece takes the next one itself, back to back, without waking
///   anyone: short Python calls stay on one hot thread instead of handing the GIL between
///   threads (futex wake-ups that cost more than the calls). It steps back instead when two other
///   threads run pieces that are not long (below), unless told not to (``stepsBack``): work that
///   once spread over many threads comes back to one or two.
/// - An idle thread is woken for queued work only when no thread runs, or when every running
///   piece is long: in it for at least ``takeover`` with its thread off the CPU (sleeping or
///   blocked: a call waiting with the GIL released, so another thread may as well run the next
///   piece), or for at least ``busyTakeover`` whatever its thread does. A thread still on a CPU
///   after ``takeover`` computes, with the GIL or without it, or waits for a CPU that others
///   use: another thread would most likely wait for the GIL or for the same CPUs, and only hand
///   the GIL back and forth with it.
/// - While a running piece is not long, one idle thread stands by with a deadline
///   (``MemberState/standby(deadline:)``) and looks again then. Each standby costs two wake-ups
///   of a thread that most often finds the queue empty, so its pace follows the work: within
///   ``alertness`` of work last going to another thread behind a long piece, it looks after
///   ``takeover``; otherwise after ``busyTakeover``. Queued work so waits at most ``takeover``
///   behind a call that waits once calls have been seen to, at most ``busyTakeover`` behind the
///   first such call and behind one that computes; and every new piece queued is a look too.
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
        /// Running a piece since `since`; `waited` once its thread was seen off the CPU past
        /// ``takeover`` (the piece counts as long from then on).
        case running(since: UInt64, waited: Bool = false)
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

    /// How long a piece runs, its thread off the CPU, before queued work may go to another thread.
    let takeover: UInt64
    /// How long a piece runs, its thread on a CPU, before queued work may go to another thread.
    let busyTakeover: UInt64
    /// Whether a thread that finished a piece steps back while others run short ones
    /// (``othersRunShortPieces(than:now:)``); off where short pieces are round trips that gain
    /// from overlapping.
    let stepsBack: Bool
    private(set) var messages: [Message] = []
    private(set) var members: [MemberState]
    /// How long after queued work last went to another thread while pieces ran a standby looks
    /// again after ``takeover`` (at other times after ``busyTakeover``): 100 ms.
    static var alertness: UInt64 { 100_000_000 }
    /// When queued work last went to another thread while pieces ran.
    private var lastTakeover: UInt64?
    /// Idle threads, the most recently idle last: it is woken first, its caches still warm.
    private var idle: [Int]
    private(set) var stopping = false

    /// A schedule for `count` idle threads.
    init(count: Int, takeover: UInt64, busyTakeover: UInt64, stepsBack: Bool = true) {
        self.takeover = takeover
        self.busyTakeover = max(busyTakeover, takeover)
        self.stepsBack = stepsBack
        self.members = Array(repeating: .idle, count: count)
        self.idle = Array((0..<count).reversed())
    }

    /// Queues `message`; returns the thread to wake for it, if one should be. `onCPU` tells
    /// whether a thread runs or waits for a CPU (asked only of threads in a piece past
    /// ``takeover``).
    mutating func enqueue(_ message: Message, now: UInt64, onCPU: (Int) -> Bool = { _ in false }) -> Int? {
        messages.append(message)
        return dispatch(now: now, onCPU: onCPU)
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

    /// What thread `member` does next: called when it finished a piece, and whenever it wakes
    /// (`onCPU` as for ``enqueue(_:now:onCPU:)``).
    mutating func next(for member: Int, now: UInt64, onCPU: (Int) -> Bool = { _ in false }) -> Step {
        switch members[member] {
        case .running where stepsBack && !messages.isEmpty && othersRunShortPieces(than: member, now: now):
            // Steps back, as if it had just become idle, and looks like a standby: it takes the
            // queue only if every other piece is long.
            becomeIdle(member)
            return look(member, now: now, onCPU: onCPU)
        case .running, .woken:
            return takeHead(member, now: now, onCPU: onCPU) ?? rest(member)
        case .standby(let deadline):
            if now < deadline { return .wait(deadline: deadline) }
            // It looks as if it had just become idle: `dispatch` wakes the most recently idle
            // thread first, which is this one.
            becomeIdle(member)
            return look(member, now: now, onCPU: onCPU)
        case .idle:
            return .wait(deadline: nil)
        case .stopped:
            return .exit
        }
    }

    /// What `member`, just become idle, does: whatever ``dispatch(now:onCPU:)`` makes of it.
    private mutating func look(_ member: Int, now: UInt64, onCPU: (Int) -> Bool) -> Step {
        _ = dispatch(now: now, onCPU: onCPU)
        switch members[member] {
        case .woken: return takeHead(member, now: now, onCPU: onCPU) ?? rest(member)
        case .standby(let deadline): return .wait(deadline: deadline)
        default:
            // Still idle: nothing is queued, or a thread was already woken for it. It ran nothing
            // now, so it goes behind the threads that did: the next burst goes to the thread that
            // ran the last one, not to one that watched it.
            idle.removeAll { $0 == member }
            idle.insert(member, at: 0)
            return .wait(deadline: nil)
        }
    }

    /// Whether two or more threads other than `member` run pieces that are not long (neither
    /// seen off the CPU past ``takeover`` nor ``busyTakeover`` old).
    ///
    /// A thread that finished a piece while others run such pieces steps back instead of taking
    /// the next one: the rule that wakes no idle thread behind a short piece, applied to threads
    /// already awake. Without it, threads only ever joined: once a blocking moment (a spool slot
    /// waiting on the disk during a `syncfs`) had let a backlog spread over every thread, each
    /// took the next piece after its own, and with work always queued none went idle again, so
    /// GIL-bound work stayed spread, handing the GIL and the schedule's lock between threads at
    /// every piece (8 context switches a task instead of 1) until the backlog was gone.
    ///
    /// One other thread is left alone: that is what a single takeover leaves (a thread held up
    /// and the one that took over), and stepping back for it turned each takeover into a
    /// standby's two wake-ups more; with a core kept busy, threads are preempted every few
    /// milliseconds.
    private func othersRunShortPieces(than member: Int, now: UInt64) -> Bool {
        var others = 0
        for index in members.indices where index != member {
            guard case .running(let since, waited: false) = members[index],
                Self.age(since: since, now: now) < busyTakeover
            else { continue }
            others += 1
            if others == 2 { return true }
        }
        return false
    }

    private mutating func takeHead(_ member: Int, now: UInt64, onCPU: (Int) -> Bool) -> Step? {
        guard !messages.isEmpty else { return nil }
        let message = messages.removeFirst()
        members[member] = .running(since: now)
        return .run(message, wake: dispatch(now: now, onCPU: onCPU))
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
    private mutating func dispatch(now: UInt64, onCPU: (Int) -> Bool) -> Int? {
        guard !messages.isEmpty else { return nil }
        var youngest: UInt64?
        var running = false
        var standby: Int?
        for (index, state) in members.enumerated() {
            switch state {
            case .woken: return nil
            case .running(let since, let waited):
                running = true
                if !waited { youngest = max(youngest ?? since, since) }
            case .standby: standby = index
            case .idle, .stopped: break
            }
        }
        let lookAgain =
            if let youngest, Self.age(since: youngest, now: now) < takeover {
                youngest + pace(now: now)
            } else {
                busyPieces(now: now, onCPU: onCPU)
            }
        if let lookAgain {
            guard standby == nil, let member = idle.popLast() else { return nil }
            members[member] = .standby(deadline: lookAgain)
            return member
        }
        guard let member = idle.popLast() ?? standby else { return nil }
        members[member] = .woken
        if running { lastTakeover = now }
        return member
    }

    /// How long a standby waits before it looks again: ``takeover`` if, in the last
    /// ``alertness``, queued work went to another thread while pieces ran; else ``busyTakeover``.
    private func pace(now: UInt64) -> UInt64 {
        let alert = lastTakeover.map { Self.age(since: $0, now: now) < Self.alertness } ?? false
        return alert ? takeover : busyTakeover
    }

    /// With no piece young: nil when every running piece is long now, else when to look again
    /// (when the first of them may be). A thread seen off the CPU is marked as waited, so it is
    /// asked once per piece; one on a CPU is looked at again at the standbys' pace, or when its
    /// piece is ``busyTakeover`` old.
    private mutating func busyPieces(now: UInt64, onCPU: (Int) -> Bool) -> UInt64? {
        var lookAgain: UInt64?
        for index in members.indices {
            guard case .running(let since, waited: false) = members[index],
                Self.age(since: since, now: now) < busyTakeover
            else { continue }
            if onCPU(index) {
                lookAgain = min(lookAgain ?? .max, now + pace(now: now), since + busyTakeover)
            } else {
                members[index] = .running(since: since, waited: true)
            }
        }
        return lookAgain
    }

    /// How long a piece that started at `since` has run at `now`: 0 when `now` is earlier (read
    /// by a thread before it waited for the schedule's lock, while another started the piece).
    private static func age(since: UInt64, now: UInt64) -> UInt64 {
        now > since ? now - since : 0
    }
}
