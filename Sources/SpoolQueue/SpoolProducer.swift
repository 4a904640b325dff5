import Foundation
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// The producer side of a spool: queue a task, look a task up.
public struct SpoolProducer: Sendable {
    /// The spool's folders.
    public let layout: SpoolLayout

    /// A producer for the spool at `layout`, making its folders as needed.
    public init(layout: SpoolLayout) throws(SpoolError) {
        try layout.create()
        self.layout = layout
    }

    /// Queues a request body as task `id`: a durable temporary file renamed into `incoming/`.
    ///
    /// - Throws: ``SpoolError`` for an invalid id, an id already in use, or a failed write.
    public func submit(_ body: [UInt8], id: String) throws(SpoolError) {
        guard SpoolLayout.isValidTaskID(id) else {
            throw SpoolError("invalid task id \"\(id)\": use 1 to 200 of A-Z a-z 0-9 . _ -, not starting with .")
        }
        guard status(of: id).status == .undefined, !exists(layout.taskFile(id, in: layout.dead)) else {
            throw SpoolError("task id \"\(id)\" is already in use in \(layout.root.path)")
        }
        let destination = layout.taskFile(id, in: layout.incoming)
        let staged = layout.temporary.appending(path: "\(id).\(UUID().uuidString).json")
        do {
            try DurableFile.write(body, to: staged)
        } catch {
            throw SpoolError("cannot write the task: \(error)")
        }
        guard link(staged.path, destination.path) == 0 else {
            let error = SpoolError.system("cannot queue the task as", destination.path)
            unlink(staged.path)
            throw error
        }
        unlink(staged.path)
        do {
            try DurableFile.syncFolder(layout.incoming)
        } catch {
            throw SpoolError("the task is queued but may not survive a power loss: \(error)")
        }
    }

    /// Task `id`'s response, or its state when it has none yet: `PENDING`, `STARTED` or
    /// `UNDEFINED`.
    public func status(of id: String) -> SpoolResponse {
        if let response = response(id) { return response }
        let claimed = (try? FileManager.default.contentsOfDirectory(atPath: layout.claimed.path)) ?? []
        let status: TaskStatus
        if claimed.contains(where: { exists(layout.taskFile(id, in: layout.claimed.appending(path: $0))) }) {
            status = .started
        } else if exists(layout.taskFile(id, in: layout.incoming)) {
            status = .pending
        } else {
            // It may have finished while we looked.
            return response(id) ?? SpoolResponse(id: id, status: .undefined)
        }
        return SpoolResponse(id: id, status: status)
    }

    /// Task `id`'s response, nil until it has one: one file read, where ``status(of:)`` also looks
    /// for its claim.
    public func response(_ id: String) -> SpoolResponse? {
        guard let data = FileManager.default.contents(atPath: layout.taskFile(id, in: layout.responses).path) else {
            return nil
        }
        return try? JSONDecoder().decode(SpoolResponse.self, from: data)
    }

    private func exists(_ file: URL) -> Bool {
        FileManager.default.fileExists(atPath: file.path)
    }
}

extension SpoolResponse {
    /// A response that only says where the task is.
    init(id: String, status: TaskStatus) {
        self.init(task: QueuedTask(id: id, body: []), response: TaskResponse(status: status), timings: nil)
        attempt = nil
    }
}
