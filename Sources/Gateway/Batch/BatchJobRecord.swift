import Foundation

/// A batch job as it was asked for (`POST /batch_job/{bundle}`): what survives a restart. It
/// runs as a child `launch-worker batch` over `<state-dir>/batch/<id>/`: `input.jsonl` (the
/// client's CSV as JSON Lines), `output/` (the batch's results, journal and summary),
/// `batch.log`, and `ended` for a job cancelled or timed out.
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
    /// How long it may run from its creation (`timeout_seconds`, as llm-engine's; 12 h when
    /// not given) before it is stopped as TIMEOUT.
    var timeoutSeconds: Double?

    /// Llm-engine's default timeout: 12 hours.
    static let defaultTimeout = 12.0 * 3600
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
    /// Holds `CANCELLED` or `TIMEOUT` once the job was stopped so: it is not resumed.
    var ending: URL { folder.appending(path: "ended") }
    var results: URL { output.appending(path: "results.jsonl") }
    /// Where `batch --return-pickled` writes the pickles.
    var pickles: URL { output.appending(path: "results") }

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

    /// The results' lines with each `result_url` of a pickle of this job (a `file://` URL on the
    /// gateway's machine) made `base` followed by the pickle's name, a URL of the gateway.
    func servedPickleURLs(in lines: Data, base: String) -> Data {
        let prefix = pickles.standardizedFileURL.absoluteString
        var served = Data()
        for line in lines.split(separator: UInt8(ascii: "\n")) {
            guard var object = (try? JSONSerialization.jsonObject(with: line)) as? [String: Any],
                let url = object["result_url"] as? String, url.hasPrefix(prefix)
            else {
                served += line + [UInt8(ascii: "\n")]
                continue
            }
            object["result_url"] = base + url.dropFirst(prefix.count).trimmingPrefix("/")
            served += JSONAnswer.data(object) + [UInt8(ascii: "\n")]
        }
        return served
    }
}
