import Foundation
import Logging
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// Brings back the claims of dead workers, and dead-letters tasks that used up their attempts (a
/// task that kills its worker every time must not stop the queue), never an innocent one.
///
/// A task running alone when its worker died is charged the attempt. Tasks running together
/// cannot be told apart (any of them may have killed the process): none is charged; each becomes
/// a suspect (its `attempts/<id>` file exists) and runs alone from then on (``ClaimGate``), where
/// a death charges the one that caused it.
struct SpoolRecovery: Sendable {
    let layout: SpoolLayout
    let maxAttempts: Int
    let logger: Logger
    private let attemptsPath: String

    init(layout: SpoolLayout, maxAttempts: Int, logger: Logger) {
        self.layout = layout
        self.maxAttempts = maxAttempts
        self.logger = logger
        attemptsPath = layout.attempts.path
    }

    /// How many times a worker died running task `id` alone; nil when the task was never running
    /// when a worker died (it is no suspect).
    func attempts(_ id: String) -> Int? {
        guard let bytes = FileContents.read("\(attemptsPath)/\(id)")?.bytes else { return nil }
        return Int(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// How many times a worker died running task `id` alone (0 when none).
    func attemptsSoFar(_ id: String) -> Int { attempts(id) ?? 0 }

    /// Forgets a finished task's attempt count.
    func forgetAttempts(_ id: String) {
        unlink("\(attemptsPath)/\(id)")
    }

    /// Recovers the claims of every dead worker other than `workerID`: on this host, one whose
    /// lock is free; on another host, one whose lease is older than `lease`.
    func recoverDeadWorkers(except workerID: String, lease: Duration) {
        guard let owners = try? FileManager.default.contentsOfDirectory(atPath: layout.claimed.path) else { return }
        for owner in owners where owner != workerID {
            let lockFile = layout.workers.appending(path: "\(owner).lock")
            let descriptor = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { continue }
            defer { close(descriptor) }
            let sameHost = owner.hasPrefix(WorkerLease.hostname + "-")
            // Holding the owner's lock also keeps a second recovering worker out.
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            if !sameHost, !leaseExpired(descriptor, lease: lease) { continue }
            recoverClaims(of: owner)
            rmdir(layout.claimed.appending(path: owner).path)
            unlink(lockFile.path)
        }
    }

    private func leaseExpired(_ descriptor: Int32, lease: Duration) -> Bool {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return false }
        let age = Date().timeIntervalSince1970 - Double(info.st_mtim.tv_sec)
        return age > Double(lease.components.seconds)
    }

    /// Recovers one dead worker's claims: a task answered meanwhile is dropped; one with a whole
    /// staged answer is answered with it, its attempt not counted (it finished); the ones still
    /// running go back to `incoming/` (or `dead/`), charged only when one ran alone.
    private func recoverClaims(of owner: String) {
        let folder = layout.claimed.appending(path: owner)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        let present = Set(names)
        var finished: [StagedAnswer] = []
        var running: [(id: String, claim: String)] = []
        for name in names {
            let file = folder.appending(path: name).path
            if let id = StagedAnswer.taskID(fromFileName: name) {
                // Without its claim, the task was answered or given back: the staged file is stale.
                if !present.contains("\(id).json") { unlink(file) }
                continue
            }
            guard let id = SpoolLayout.taskID(fromFileName: name) else {
                unlink(file)  // a temporary file, or a stranger
                continue
            }
            let log = logger.forTask(id)
            let staged = StagedAnswer(id: id, folder: folder.path)
            if FileManager.default.fileExists(atPath: layout.taskFile(id, in: layout.responses).path) {
                unlink(staged.path)
                unlink(file)  // answered before its worker died
                continue
            }
            if present.contains(StagedAnswer.fileName(id)) {
                if let bytes = FileContents.read(staged.path)?.bytes, StagedAnswer.isWhole(bytes, of: id) {
                    finished.append(staged)
                    continue
                }
                log.warning("discarding a dead worker's torn staged answer", metadata: ["dead_worker": "\(owner)"])
                unlink(staged.path)
            }
            running.append((id, file))
        }
        for task in running {
            returnToQueue(task.id, claim: task.claim, of: owner, alongside: running.count - 1)
        }
        publish(finished, of: owner)
    }

    /// Returns a dead worker's task that was running to `incoming/`. Running alone, it is charged
    /// the attempt (and goes to `dead/` once it used them up); running `alongside` others, it is
    /// not charged but made a suspect, to run alone from now on.
    private func returnToQueue(_ id: String, claim: String, of owner: String, alongside others: Int) {
        let log = logger.forTask(id)
        let charged = others == 0
        let attempts = attemptsSoFar(id) + (charged ? 1 : 0)
        do {
            try DurableFile.write(Array("\(attempts)\n".utf8), to: layout.attempts.appending(path: id))
        } catch {
            log.error("cannot count a dead worker's attempt; leaving its claim", metadata: ["error": "\(error)"])
            return
        }
        if charged, attempts >= maxAttempts {
            log.error(
                "a worker died running this task alone \(attempts) times: moving it to dead/",
                metadata: ["dead_worker": "\(owner)"])
            rename(claim, layout.taskFile(id, in: layout.dead).path)
            answerDeadLetter(id, attempts: attempts)
        } else if charged {
            log.warning(
                "returning a dead worker's task to incoming/; it runs alone from now on",
                metadata: ["dead_worker": "\(owner)", "attempts": "\(attempts)"])
            rename(claim, layout.taskFile(id, in: layout.incoming).path)
        } else {
            log.warning(
                """
                a worker died running this task beside \(others) other(s): returning it to incoming/ to run alone, \
                no attempt counted
                """,
                metadata: ["dead_worker": "\(owner)", "attempts": "\(attempts)"])
            rename(claim, layout.taskFile(id, in: layout.incoming).path)
        }
    }

    /// Publishes the answers a dead worker had staged for tasks it finished.
    private func publish(_ answers: [StagedAnswer], of owner: String) {
        guard !answers.isEmpty else { return }
        let failures = AnswerCommit(layout: layout).commit(answers)
        for failure in failures {
            logger.error(
                "cannot publish a dead worker's staged answer; the next recovery tries again",
                metadata: ["task_id": "\(failure.answer.id)", "reason": "\(failure.reason)"])
        }
        logger.notice(
            "published the answers a dead worker had staged",
            metadata: ["dead_worker": "\(owner)", "answers": "\(answers.count - failures.count)"])
    }

    /// Writes the FAILURE response of a task in `dead/` that has none (a worker died between
    /// moving it there and answering it).
    func answerUnansweredDeadLetters() {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: layout.dead.path) else { return }
        for name in names {
            guard let id = SpoolLayout.taskID(fromFileName: name),
                !FileManager.default.fileExists(atPath: layout.taskFile(id, in: layout.responses).path)
            else { continue }
            answerDeadLetter(id, attempts: attemptsSoFar(id))
        }
    }

    private func answerDeadLetter(_ id: String, attempts: Int) {
        let reason = """
            the worker died \(attempts) times while running this task, with no other task beside it \
            (--max-attempts \(maxAttempts)); it was moved to dead/ and will not run again
            """
        let response = SpoolResponse(
            task: QueuedTask(id: id, body: [], attempt: attempts), response: .failure(traceback: reason), timings: nil)
        do {
            try DurableFile.write(
                response.jsonData(), to: layout.taskFile(id, in: layout.responses), via: layout.temporary)
            forgetAttempts(id)
        } catch {
            logger.error("cannot answer a dead letter", metadata: ["task_id": "\(id)", "error": "\(error)"])
        }
    }
}
