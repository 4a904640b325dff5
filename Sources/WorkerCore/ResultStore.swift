import Foundation

/// Where pickled results go; the response names them by URL.
public protocol ResultStore: Sendable {
    /// Stores a task's pickled output durably and returns its URL.
    ///
    /// - Throws: ``DurableWriteError`` when it cannot be stored; the task has no result then.
    func store(_ pickle: [UInt8], taskID: String) throws(DurableWriteError) -> URL
}

/// Stores pickled results as `<folder>/<task id>.pkl`, durable before their URL is returned.
public struct DirectoryResultStore: ResultStore {
    /// The results folder.
    public var folder: URL

    /// A store writing into `folder`, made on first use.
    public init(folder: URL) {
        self.folder = folder.standardizedFileURL
    }

    public func store(_ pickle: [UInt8], taskID: String) throws(DurableWriteError) -> URL {
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw DurableWriteError(folder.path, "cannot create the results folder")
        }
        let file = folder.appending(path: "\(taskID).pkl")
        try DurableFile.write(pickle, to: file)
        return file
    }
}
