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
    /// Commits staged answers in groups; nil without fsync, where answers go straight to
    /// `responses/`.
    private let committer: AnswerCommitter
    private let logger: Logger
    private let backlog = Mutex<(names: [String], idlePolls: Int)>(([], 0))
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
        committer = AnswerCommitter(
            layout: layout, sync: configuration.fsync, maxBacklog: configuration.maxStagedAnswers, logger: logger)
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
        lease.end(layout: layout)
    }

    /// Makes every staged answer durable and stops the committer's thread (until the next
    /// answer); gives up after the commit timeout, leaving the rest staged for recovery.
    func commitStaged() async {
        await committer.close(within: configuration.commitTimeout)
    }

    public func next() async throws -> QueuedTask? {
        while let name = nextName() {
            let claim = "\(claimedPath)/\(name)"
            guard rename("\(incomingPath)/\(name)", claim) == 0 else { continue }  // another worker won
            guard let id = SpoolLayout.taskID(fromFileName: name) else { continue }
            // Unreadable: an empty body, which the loop answers as a corrupt task.
            let contents = FileContents.read(claim)
            return QueuedTask(
                id: id, body: contents?.bytes ?? [], attempt: recovery.attemptsSoFar(id) + 1,
                queuedAt: contents?.modified)
        }
        return nil
    }

    /// The next name from the last look at `incoming/`, looking again (oldest first) when
    /// all were tried.
    private func nextName() -> String? {
        if let name = backlog.withLock({ $0.names.popLast() }) { return name }
        let names = scanIncoming()
        return backlog.withLock { backlog in
            backlog.names = names.reversed()
            backlog.idlePolls = names.isEmpty ? backlog.idlePolls + 1 : 0
            return backlog.names.popLast()
        }
    }

    private func scanIncoming() -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: layout.incoming.path) else { return [] }
        let tasks = names.filter { SpoolLayout.taskID(fromFileName: $0) != nil }
        guard tasks.count > 1 else { return tasks }
        let dated = tasks.map { name -> (String, Date) in
            let path = layout.incoming.appending(path: name).path
            let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            return (name, date ?? .distantPast)
        }
        return dated.sorted { $0.1 < $1.1 }.map(\.0)
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
            try DurableFile.write(file.jsonData(), toPath: answer.path, sync: false)
            await committer.add(answer)
            return
        }
        guard rename(claim, layout.taskFile(task.id, in: layout.dead).path) == 0 else {
            throw SpoolError.system("cannot move the corrupt task to dead/:", claim)
        }
        try DurableFile.write(
            file.jsonData(), toPath: "\(responsesPath)/\(task.id).json", via: temporaryPath, sync: configuration.fsync)
        recovery.forgetAttempts(task.id)
    }

    public func release(_ task: QueuedTask) async throws {
        let claim = claimFile(task.id)
        guard rename(claim, "\(incomingPath)/\(task.id).json") == 0 else {
            throw SpoolError.system("cannot return the task to incoming/:", claim)
        }
    }

    private func claimFile(_ id: String) -> String {
        "\(claimedPath)/\(id).json"
    }
}
