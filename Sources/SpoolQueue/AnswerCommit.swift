import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An answer staged next to its claim: `claimed/<worker_id>/<task_id>.answer`, written whole
/// (a temporary name renamed) but not yet durable. The task is still `STARTED`.
struct StagedAnswer: Sendable, Equatable {
    /// The task's id.
    let id: String
    /// The claim folder holding both files: `claimed/<worker_id>`.
    let folder: String

    /// `claimed/<worker_id>/<task_id>.answer`.
    var path: String { "\(folder)/\(Self.fileName(id))" }
    /// `claimed/<worker_id>/<task_id>.json`.
    var claim: String { "\(folder)/\(id).json" }

    /// The staged answer's file name for task `id`: never a claim's (those end in `.json`).
    static func fileName(_ id: String) -> String { "\(id).answer" }

    /// The task id of a staged answer's file name, or nil for other names.
    static func taskID(fromFileName name: String) -> String? {
        guard name.hasSuffix(".answer") else { return nil }
        let id = String(name.dropLast(7))
        return SpoolLayout.isValidTaskID(id) ? id : nil
    }

    /// Whether `bytes` are a whole response of task `id`: what a worker staged and finished
    /// writing, as opposed to a file torn by a power loss.
    static func isWhole(_ bytes: [UInt8], of id: String) -> Bool {
        (try? JSONDecoder().decode(SpoolResponse.self, from: Data(bytes)))?.taskID == id
    }
}

/// Publishes staged answers as a group: makes their data durable with one `syncfs`, renames
/// each into `responses/`, fsyncs `responses/` once, then drops their claims (kept as spares by a
/// live worker, ``SpareFiles``) and attempt counts.
///
/// Two barriers per group, whatever its size, where answering one at a time costs two per
/// task. The order keeps the protocol's promise: a response is whole and durable before its
/// claim goes, so a crash at any point leaves each task either answered or still claimed with
/// its staged answer. Every step can be repeated, so a group that failed part way is retried
/// as it is.
struct AnswerCommit: Sendable {
    let responsesPath: String
    let attemptsPath: String
    /// Whether the barriers run; without them (`--no-fsync`) a group is only renamed into place.
    let sync: Bool
    /// Where a live worker keeps its answered claims for its next answers; nil: they are deleted.
    let spares: SpareFiles?

    init(layout: SpoolLayout, sync: Bool = true, spares: SpareFiles? = nil) {
        responsesPath = layout.responses.path
        attemptsPath = layout.attempts.path
        self.sync = sync
        self.spares = spares
    }

    /// An answer that could not be published, and why.
    struct Failure: Error, Sendable {
        let answer: StagedAnswer
        let reason: String
        /// The staged file is gone and no response names the task: retrying cannot help.
        let vanished: Bool
    }

    /// Publishes `answers`; returns those that failed (each still staged, or renamed but not
    /// yet durable, with its claim in place).
    ///
    /// An answer whose task already has a response is not renamed over it: its staged file is
    /// dropped, and its claim once the folder is durable.
    func commit(_ answers: [StagedAnswer]) -> [Failure] {
        let folder = open(responsesPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else { return fail(answers, "cannot open responses/", errno: errno) }
        defer { close(folder) }
        // syncfs rather than an fsync per file: on ext4 each fsync of a new file is a journal
        // commit of its own, and one syncfs covers the whole group for about the cost of one.
        guard !sync || syncfs(folder) == 0 else { return fail(answers, "syncfs failed", errno: errno) }
        var failures: [Failure] = []
        var renamed: [StagedAnswer] = []
        for answer in answers {
            let response = "\(responsesPath)/\(answer.id).json"
            if access(response, F_OK) == 0 {
                unlink(answer.path)  // answered already (or renamed by an earlier try)
                renamed.append(answer)
            } else if rename(answer.path, response) == 0 {
                renamed.append(answer)
            } else {
                let code = errno
                failures.append(failure(answer, "cannot rename it into responses/", errno: code))
            }
        }
        guard !sync || fsync(folder) == 0 else {
            return failures + fail(renamed, "fsync of responses/ failed", errno: errno)
        }
        for answer in renamed {
            if let spares { spares.keep(answer.claim) } else { unlink(answer.claim) }
            unlink("\(attemptsPath)/\(answer.id)")
        }
        return failures
    }

    private func fail(_ answers: [StagedAnswer], _ what: String, errno code: Int32) -> [Failure] {
        answers.map { failure($0, what, errno: code) }
    }

    private func failure(_ answer: StagedAnswer, _ what: String, errno code: Int32) -> Failure {
        Failure(
            answer: answer, reason: "\(what): \(String(cString: strerror(code)))",
            vanished: code == ENOENT && access(answer.path, F_OK) != 0)
    }
}
