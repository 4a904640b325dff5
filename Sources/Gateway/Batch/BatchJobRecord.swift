import Foundation

/// A batch job as it was asked for (`POST /batch_job/{bundle}`): what survives a restart. It
/// runs as a child `launch-worker batch` over `<state-dir>/batch/<id>/`: `input.jsonl` (the
/// client's CSV as JSON Lines), `output/` (the batch's results, journal and summary) and
/// `batch.log`.
struct BatchJobRecord: Codable, Sendable {
    /// `job_id`.
    var id: String
    /// The bundle it runs, and that bundle's folder.
    var bundleName: String
    var bundleFolder: String
    /// `serialization_format` is `pickle`: results are pickled.
    var pickled: Bool
    /// How many inputs the file holds.
    var total: Int
    /// How many run at once (`max_workers`, as slots of the one batch process).
    var perWorker: Int
    /// When it was created (seconds since 1970).
    var createdAt: Double
}

/// A batch job's files.
struct BatchJobFiles: Sendable {
    /// `<state-dir>/batch/<id>/`.
    let folder: URL

    init(stateDirectory: URL, id: String) {
        folder = stateDirectory.appending(path: "batch/\(id)")
    }

    var input: URL { folder.appending(path: "input.jsonl") }
    var output: URL { folder.appending(path: "output") }
    var log: URL { folder.appending(path: "batch.log") }
    var results: URL { output.appending(path: "results.jsonl") }

    /// Whether the batch's summary says every input has its result.
    var isComplete: Bool {
        guard let data = try? Data(contentsOf: output.appending(path: "summary.json")),
            let summary = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return false }
        return summary["complete"] as? Bool == true
    }

    /// How many results are written.
    var completed: Int {
        guard let data = try? Data(contentsOf: results) else { return 0 }
        return data.count(where: { $0 == UInt8(ascii: "\n") })
    }
}
