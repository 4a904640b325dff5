import Foundation

/// Where an endpoint's files live under the state folder: its logs and ready files
/// (`logs/<id>/`), its creation log, its workers' sockets (`sockets/<id>-<n>.sock`, short, as a
/// socket's path is limited to 107 bytes) and its spool (`spools/<id>/`).
struct EndpointFiles: Sendable {
    /// `logs/<id>/`: the creation log, each worker's log and ready file.
    let folder: URL
    /// `sockets/`.
    let sockets: URL
    /// The async endpoint's spool.
    let spool: URL
    /// The endpoint's id.
    let id: String

    init(stateDirectory: URL, id: String) {
        self.id = id
        folder = stateDirectory.appending(path: "logs/\(id)")
        sockets = stateDirectory.appending(path: "sockets")
        spool = stateDirectory.appending(path: "spools/\(id)")
    }

    /// The creation log: each roll-out's `prepare` output and any worker that failed to start.
    var creationLog: URL { folder.appending(path: "creation.log") }

    /// Worker `number`'s socket.
    func socket(_ number: Int) -> URL { sockets.appending(path: "\(id)-\(number).sock") }

    /// Makes the folders.
    func create() throws {
        for folder in [folder, sockets, spool] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
    }

    /// Adds `text` to the creation log.
    func appendToCreationLog(_ text: String) {
        if !FileManager.default.fileExists(atPath: creationLog.path) {
            _ = FileManager.default.createFile(atPath: creationLog.path, contents: nil)
        }
        guard let handle = try? FileHandle(forWritingTo: creationLog) else { return }
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        try? handle.close()
    }

    /// How many tasks wait in or run from the spool: `incoming/` and every worker's claims.
    func spoolLoad() -> Int {
        let manager = FileManager.default
        let incoming = (try? manager.contentsOfDirectory(atPath: spool.appending(path: "incoming").path)) ?? []
        let claimed = spool.appending(path: "claimed")
        let running = ((try? manager.contentsOfDirectory(atPath: claimed.path)) ?? []).reduce(0) { count, worker in
            let files = (try? manager.contentsOfDirectory(atPath: claimed.appending(path: worker).path)) ?? []
            return count + files.count(where: { $0.hasSuffix(".json") })
        }
        return incoming.count(where: { $0.hasSuffix(".json") }) + running
    }

    /// Removes the endpoint's logs, sockets and spool once it is deleted.
    func remove() {
        try? FileManager.default.removeItem(at: folder)
        try? FileManager.default.removeItem(at: spool)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: sockets.path)) ?? []
        for name in names where name.hasPrefix("\(id)-") {
            try? FileManager.default.removeItem(at: sockets.appending(path: name))
        }
    }
}
