import Foundation
import Logging
import SQLiteNIO

/// The gateway's state in one SQLite file (`<state-dir>/gateway.sqlite`): bundles, endpoints and
/// async tasks, each row owned by an API key's SHA-256, so that a restarted gateway finds them all.
///
/// Records are stored as their JSON next to the columns they are looked up by.
final class StateDatabase: Sendable {
    private let connection: SQLiteConnection
    /// The database's file, for errors about its rows.
    private let file: URL

    private init(connection: SQLiteConnection, file: URL) {
        self.connection = connection
        self.file = file
    }

    /// Opens (or makes) the database at `file` and its tables.
    static func open(_ file: URL, logger: Logger) async throws -> StateDatabase {
        let connection = try await SQLiteConnection.open(storage: .file(path: file.path), logger: logger)
        let database = StateDatabase(connection: connection, file: file)
        for statement in [
            "PRAGMA journal_mode=WAL",
            "CREATE TABLE IF NOT EXISTS bundles (owner TEXT NOT NULL, name TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (owner, name))",
            "CREATE TABLE IF NOT EXISTS endpoints (owner TEXT NOT NULL, name TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (owner, name))",
            "CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, owner TEXT NOT NULL, endpoint_id TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS batch_jobs (id TEXT PRIMARY KEY, owner TEXT NOT NULL, record TEXT NOT NULL)",
        ] {
            _ = try await connection.query(statement)
        }
        // Tasks expire (`--keep-results`): a database made before that learns their creation
        // time, its older tasks counted from now.
        let columns = try await connection.query("PRAGMA table_info(tasks)").compactMap { $0.column("name")?.string }
        if !columns.contains("created_at") {
            _ = try await connection.query("ALTER TABLE tasks ADD COLUMN created_at REAL")
            _ = try await connection.query(
                "UPDATE tasks SET created_at = ?", [.float(Date().timeIntervalSince1970)])
        }
        return database
    }

    /// Closes the file.
    func close() async {
        try? await connection.close()
    }

    // MARK: Bundles

    /// Records `bundle` for `owner`; false when the owner already has a bundle of that name.
    func insert(_ bundle: BundleRecord, owner: String) async throws -> Bool {
        try await insert(into: "bundles", owner: owner, name: bundle.name, record: bundle)
    }

    /// `owner`'s bundle `name`, if any.
    func bundle(_ name: String, owner: String) async throws -> BundleRecord? {
        let found: [BundleRecord] = try await records(from: "bundles", owner: owner, name: name)
        return found.first
    }

    /// Every bundle of `owner`, by name.
    func bundles(owner: String) async throws -> [BundleRecord] {
        try await records(from: "bundles", owner: owner)
    }

    /// Removes `owner`'s bundle `name`; false when there was none.
    func deleteBundle(_ name: String, owner: String) async throws -> Bool {
        try await delete(from: "bundles", owner: owner, name: name)
    }

    // MARK: Endpoints

    /// Records a new endpoint; false when the owner already has one of that name.
    func insert(_ endpoint: EndpointRecord, owner: String) async throws -> Bool {
        try await insert(into: "endpoints", owner: owner, name: endpoint.name, record: endpoint)
    }

    /// Replaces an endpoint's record (an edit).
    func update(_ endpoint: EndpointRecord, owner: String) async throws {
        _ = try await connection.query(
            "UPDATE endpoints SET record = ? WHERE owner = ? AND name = ?",
            [.text(try Self.text(endpoint)), .text(owner), .text(endpoint.name)])
    }

    /// Every endpoint of every owner, for bringing them back after a restart.
    func allEndpoints() async throws -> [(owner: String, endpoint: EndpointRecord)] {
        let rows = try await connection.query("SELECT rowid, owner, record FROM endpoints ORDER BY owner, name")
        return try rows.map { row in
            (row.column("owner")?.string ?? "", try record(EndpointRecord.self, row, in: "endpoints"))
        }
    }

    /// Removes `owner`'s endpoint `name`; false when there was none.
    func deleteEndpoint(_ name: String, owner: String) async throws -> Bool {
        try await delete(from: "endpoints", owner: owner, name: name)
    }

    // MARK: Tasks

    /// Records an async task of `owner` on the endpoint `endpointID`.
    func insertTask(_ id: String, owner: String, endpointID: String) async throws {
        _ = try await connection.query(
            "INSERT INTO tasks (id, owner, endpoint_id, created_at) VALUES (?, ?, ?, ?)",
            [.text(id), .text(owner), .text(endpointID), .float(Date().timeIntervalSince1970)])
    }

    /// Forgets the tasks of a deleted endpoint.
    func deleteTasks(endpointID: String) async throws {
        _ = try await connection.query("DELETE FROM tasks WHERE endpoint_id = ?", [.text(endpointID)])
    }

    /// Forgets the tasks queued before `date`.
    ///
    /// - Returns: each one's id and endpoint id, so their answers can go too.
    func expireTasks(queuedBefore date: Date) async throws -> [(id: String, endpointID: String)] {
        try await connection.query(
            "DELETE FROM tasks WHERE created_at < ? RETURNING id, endpoint_id", [.float(date.timeIntervalSince1970)]
        ).map { ($0.column("id")?.string ?? "", $0.column("endpoint_id")?.string ?? "") }
    }

    /// Forgets a task that could not be queued.
    func deleteTask(_ id: String) async throws {
        _ = try await connection.query("DELETE FROM tasks WHERE id = ?", [.text(id)])
    }

    /// The endpoint id of `owner`'s task `id`; nil when the task is another key's or unknown.
    func taskEndpoint(_ id: String, owner: String) async throws -> String? {
        let rows = try await connection.query(
            "SELECT endpoint_id FROM tasks WHERE id = ? AND owner = ?", [.text(id), .text(owner)])
        return rows.first?.column("endpoint_id")?.string
    }

    // MARK: Batch jobs

    /// Records a batch job of `owner`.
    func insert(_ job: BatchJobRecord, owner: String) async throws {
        _ = try await connection.query(
            "INSERT INTO batch_jobs (id, owner, record) VALUES (?, ?, ?)",
            [.text(job.id), .text(owner), .text(try Self.text(job))])
    }

    /// Whether `owner` made batch job `id`.
    func ownsBatchJob(_ id: String, owner: String) async throws -> Bool {
        try await !connection.query(
            "SELECT id FROM batch_jobs WHERE id = ? AND owner = ?", [.text(id), .text(owner)]
        ).isEmpty
    }

    /// Forgets batch job `id`.
    func deleteBatchJob(_ id: String) async throws {
        _ = try await connection.query("DELETE FROM batch_jobs WHERE id = ?", [.text(id)])
    }

    /// Every batch job, for resuming them after a restart.
    func allBatchJobs() async throws -> [BatchJobRecord] {
        try await connection.query("SELECT rowid, record FROM batch_jobs ORDER BY id").map {
            try record(BatchJobRecord.self, $0, in: "batch_jobs")
        }
    }

    // MARK: Rows as records

    private func insert(into table: String, owner: String, name: String, record: some Encodable) async throws -> Bool {
        let rows = try await connection.query(
            "INSERT INTO \(table) (owner, name, record) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING name",
            [.text(owner), .text(name), .text(try Self.text(record))])
        return !rows.isEmpty
    }

    private func records<Record: Decodable>(from table: String, owner: String, name: String? = nil) async throws
        -> [Record]
    {
        let rows =
            if let name {
                try await connection.query(
                    "SELECT rowid, record FROM \(table) WHERE owner = ? AND name = ?", [.text(owner), .text(name)])
            } else {
                try await connection.query(
                    "SELECT rowid, record FROM \(table) WHERE owner = ? ORDER BY name", [.text(owner)])
            }
        return try rows.map { try record(Record.self, $0, in: table) }
    }

    private func delete(from table: String, owner: String, name: String) async throws -> Bool {
        let rows = try await connection.query(
            "DELETE FROM \(table) WHERE owner = ? AND name = ? RETURNING name", [.text(owner), .text(name)])
        return !rows.isEmpty
    }

    private static func text(_ record: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
    }

    /// The record of `row` (selected with its `rowid`) of `table`.
    ///
    /// - Throws: ``UnreadableRecord`` naming the row, when its record does not decode.
    private func record<Record: Decodable>(_ type: Record.Type, _ row: SQLiteRow, in table: String) throws
        -> Record
    {
        do {
            return try JSONDecoder().decode(type, from: Data((row.column("record")?.string ?? "").utf8))
        } catch {
            throw UnreadableRecord(file: file, table: table, rowid: row.column("rowid")?.integer ?? 0, error: error)
        }
    }
}

/// A row of the state database whose record cannot be read: a database written by another
/// launch-worker, or changed by hand. Its description says which row and how to go on.
struct UnreadableRecord: Error, CustomStringConvertible {
    let file: URL
    let table: String
    let rowid: Int
    let error: any Error

    var description: String {
        "\(file.path): row \(rowid) of \(table) cannot be read (\(reason)). Another version of launch-worker may have written "
            + "it: run that version, restore the state folder from a backup, or remove the row with "
            + "sqlite3 \(file.path) 'DELETE FROM \(table) WHERE rowid = \(rowid)'"
    }

    /// What is wrong with the record, in a few words.
    private var reason: String {
        switch error as? DecodingError {
        case .dataCorrupted(let context) where context.codingPath.isEmpty: "its record is not JSON"
        case .keyNotFound(let key, _): "its record has no \(key.stringValue)"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "its record's \(context.codingPath.map(\.stringValue).joined(separator: ".")) is not as expected"
        default: "\(error)"
        }
    }
}
