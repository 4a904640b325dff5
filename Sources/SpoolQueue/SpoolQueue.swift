import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The durable file-spool queue (docs/spool-protocol.md), as a ``TaskQueue`` for the serving
/// loop and a `Service` that renews this worker's lease and recovers dead workers' claims.
public final class SpoolQueue: TaskQueue, Service {
    /// How the spool behaves.
    public struct Configuration: Sendable {
        /// How long a worker on another host may go without renewing its lease before its
        /// claims are recovered (on this host, `flock` tells at once).
        public var lease: Duration = .seconds(30)
        /// How many times a task may be started before it goes to `dead/`.
        public var maxAttempts = 3
        /// Whether responses are fsynced (and their folder); off trades durability for speed.
        /// On, answers are committed in groups (``finish(_:response:timings:disposition:)``).
        public var fsync = true
        /// How long stopping waits for staged answers to be made durable; what is left then
        /// stays staged for recovery.
        public var commitTimeout: Duration = .seconds(30)
        /// How many answers may wait to be committed before ``finish(_:response:timings:disposition:)``
        /// waits for the disk: bounds the memory and the answers not yet durable.
        public var maxStagedAnswers = 64
        /// The longest pause between looks at `incoming/` while it is empty.
        public var maximumPollInterval: Duration = .milliseconds(50)

        /// The defaults: 30 s lease, 3 attempts, fsync on, 30 s to commit at exit.
        public init() {}
    }

    /// The spool's folders.
    public let layout: SpoolLayout
    /// This worker's id in the spool.
    public var workerID: String { lease.workerID }
    private let configuration: Configuration
    private let lease: WorkerLease
    private let recovery: SpoolRecovery
    /// Commits staged answers in groups (without fsync, only renames them into `responses/`).
    private let committer: AnswerCommitter
    /// Answered claims kept to hold the next staged answers.
    private let spares: SpareFiles
    private let logger: Logger
    /// Checks at every look at `incoming/` that the spool folder is the one this worker is
    /// registered in.
    private let watch: SpoolFolderWatch
    private let incoming: IncomingFolder
    /// Keeps suspect tasks alone.
    private let gate = ClaimGate()
    private let backlog = Mutex(Backlog())
    /// The folders the hot path uses, as plain paths: building URLs per task is costly.
    private let incomingPath: String
    private let claimedPath: String
    private let responsesPath: String
    private let temporaryPath: String

    /// Opens (making folders as needed) the spool at `layout`, registers this worker, and
    /// recovers the claims of dead workers.
    public init(layout: SpoolLayout, configuration: Configuration, logger: Logger) throws(SpoolError) {
        try layout.create()
        self.layout = layout
        self.configuration = configuration
        self.logger = logger
        lease = try WorkerLease(layout: layout)
        incomingPath = layout.incoming.path
        claimedPath = layout.claimed.appending(path: lease.workerID).path
        responsesPath = layout.responses.path
        temporaryPath = layout.temporary.path
        recovery = SpoolRecovery(layout: layout, maxAttempts: configuration.maxAttempts, logger: logger)
        spares = SpareFiles(folder: claimedPath)
        committer = AnswerCommitter(
            layout: layout, sync: configuration.fsync, maxBacklog: configuration.maxStagedAnswers, spares: spares,
            logger: logger)
        watch = try SpoolFolderWatch(layout: layout, lease: lease, logger: logger)
        incoming = IncomingFolder(
            path: incomingPath, abandonedAfter: configuration.lease,
            misnamed: MisnamedFiles(layout: layout, sync: configuration.fsync, logger: logger))
        recovery.recoverDeadWorkers(except: lease.workerID, lease: configuration.lease)
        recovery.answerUnansweredDeadLetters()
    }

    /// Renews the lease every third of it and recovers dead workers' claims every half, until
    /// graceful shutdown reaches it (after the serving loop has drained); then commits the
    /// answers still staged (for up to the commit timeout) and ends the registration.
    public func run() async throws {
        try? await cancelWhenGracefulShutdown { [lease, recovery, configuration] in
            var tick = 0
            while !Task.isCancelled {
                try await Task.sleep(for: configuration.lease / 6)
                tick += 1
                if tick % 2 == 0 { lease.renew() }
                if tick % 3 == 0 { recovery.recoverDeadWorkers(except: lease.workerID, lease: configuration.lease) }
            }
        }
        await commitStaged()
        spares.removeAll()
        lease.end(layout: layout)
    }

    /// Makes every staged answer durable and stops the committer's thread (until the next
    /// answer); gives up after the commit timeout, leaving the rest staged for recovery.
    func commitStaged() async {
        await committer.close(within: configuration.commitTimeout)
    }

    /// Claims the oldest task file in `incoming/` that may run now: a suspect only while nothing
    /// else runs here, nothing beside a suspect (``ClaimGate``); a suspect that must wait holds
    /// back the tasks queued after it. Looks at `incoming/` at most once per call, so files that
    /// cannot be claimed never keep it from returning.
    ///
    /// - Throws: ``QueueUnavailableError`` while the spool folder is gone or cannot be read.
    public func next() async throws -> QueuedTask? {
        do {
            if let task = try claimNext() { return task }
        } catch {
            backlog.withLock { $0.idlePolls += 1 }  // the poll slows down while the folder is unusable
            throw error
        }
        backlog.withLock { $0.idlePolls += 1 }
        return nil
    }

    /// ``next()``'s claim: the task, or nil when none may be claimed now.
    private func claimNext() throws(QueueUnavailableError) -> QueuedTask? {
        var looked = false
        while let name = try nextName(looked: &looked) {
            guard let id = SpoolLayout.taskID(fromFileName: name) else { continue }
            let attempts = recovery.attempts(id)
            guard gate.reserve(id, suspect: attempts != nil) else {
                backlog.withLock { $0.names.append(name) }  // first again at the next call
                break
            }
            let claim = "\(claimedPath)/\(name)"
            guard rename("\(incomingPath)/\(name)", claim) == 0 else {
                let failure = errno
                gate.left(id)
                // ENOENT: another worker won (or this worker's claim folder is gone: the next look
                // makes it again).
                if failure != ENOENT { cannotClaim(name, errno: failure) }
                continue
            }
            backlog.withLock { backlog in
                backlog.idlePolls = 0
                backlog.unclaimable.remove(name)
            }
            // Unreadable: an empty body, which the loop answers as a corrupt task.
            let contents = FileContents.read(claim)
            return QueuedTask(
                id: id, body: contents?.bytes ?? [], attempt: (attempts ?? 0) + 1, queuedAt: contents?.modified)
        }
        return nil
    }

    /// The next name from the last look at `incoming/`, looking again (oldest first) when all
    /// were tried, unless this call `looked` already. Each look first checks that the spool folder
    /// is still this worker's.
    private func nextName(looked: inout Bool) throws(QueueUnavailableError) -> String? {
        if let name = backlog.withLock({ $0.names.popLast() }) { return name }
        guard !looked else { return nil }
        looked = true
        try watch.check()
        let names = try incoming.scan()
        return backlog.withLock { backlog in
            backlog.names = names.reversed()
            return backlog.names.popLast()
        }
    }

    /// Logs (once per file) a task file that cannot be renamed into the claim folder, such as one
    /// the worker may not move; it stays in `incoming/` and is tried again at every look.
    private func cannotClaim(_ name: String, errno code: Int32) {
        guard backlog.withLock({ $0.unclaimable.insert(name).inserted }) else { return }
        logger.error(
            "cannot claim a task file; it stays in incoming/ and is tried again at every look",
            metadata: ["file": "\(name)", "reason": "\(String(cString: strerror(code)))"])
    }

    /// Whether `incoming/` holds nothing at all: `--exit-when-empty` waits for a file a producer
    /// still writes, and for a suspect waiting to run alone.
    public func isEmpty() async -> Bool {
        incoming.isEmpty()
    }

    /// Sleeps a little: 1 ms after work, doubling while `incoming/` stays empty, up to the
    /// configured maximum. (A poll rather than inotify, so shared file systems work too.)
    public func waitForTasks() async throws {
        let idle = backlog.withLock { $0.idlePolls }
        let pause = min(Duration.milliseconds(1 << min(idle, 10)), configuration.maximumPollInterval)
        try await Task.sleep(for: pause)
    }

    /// Answers a task. An answered task's response is staged next to its claim (whole, not yet
    /// durable) and handed to the committer, and this returns while the disk works: the task
    /// stays `STARTED` until its group is committed, and a crash before then leaves the staged
    /// answer for recovery to publish, without charging an attempt. Without fsync the committer
    /// only renames, off the slot's thread. A rejected task's response goes straight to
    /// `responses/`.
    ///
    /// - Throws: ``DurableWriteError`` when the response cannot be written; the task is then
    ///   still claimed, for the loop to release.
    public func finish(
        _ task: QueuedTask, response: TaskResponse, timings: TaskTimings, disposition: TaskDisposition
    ) async throws {
        let claim = claimFile(task.id)
        let file = SpoolResponse(task: task, response: response, timings: timings)
        if disposition == .answered {
            let answer = StagedAnswer(id: task.id, folder: claimedPath)
            try spares.write(file.jsonData(), toPath: answer.path)
            gate.left(task.id)
            await committer.add(answer)
            return
        }
        // Its response first, as for every task: a response that cannot be written (a full disk)
        // leaves the task claimed, for the loop to give back, rather than in dead/ unanswered.
        try DurableFile.write(
            file.jsonData(), toPath: "\(responsesPath)/\(task.id).json", via: temporaryPath, sync: configuration.fsync)
        guard rename(claim, layout.taskFile(task.id, in: layout.dead).path) == 0 else {
            throw SpoolError.system("cannot move the corrupt task to dead/:", claim)
        }
        gate.left(task.id)
        recovery.forgetAttempts(task.id)
    }

    /// Gives a task back to `incoming/` (its attempt not counted); should that fail, its claim
    /// stays for recovery.
    public func release(_ task: QueuedTask) async throws {
        gate.left(task.id)
        let claim = claimFile(task.id)
        guard rename(claim, "\(incomingPath)/\(task.id).json") == 0 else {
            throw SpoolError.system("cannot return the task to incoming/:", claim)
        }
    }

    private func claimFile(_ id: String) -> String {
        "\(claimedPath)/\(id).json"
    }
}

/// What a spool worker remembers of its last look at `incoming/`.
private struct Backlog {
    /// The task files not tried yet, the oldest last.
    var names: [String] = []
    /// How many claims in a row found nothing: the poll's pause grows with it.
    var idlePolls = 0
    /// Task files that could not be claimed, logged once.
    var unclaimable: Set<String> = []
}
