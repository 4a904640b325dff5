import Foundation
import TestSupport
import Testing

/// A batch's output folder as the tests read it.
struct BatchFolder {
    let url: URL

    /// A new, empty place for an output folder (the batch makes it).
    static func make() throws -> BatchFolder {
        BatchFolder(url: try Checkout.temporaryFolder("batch").appending(path: "out"))
    }

    /// Each line of results.jsonl, decoded.
    func results() throws -> [[String: String]] {
        let text = (try? String(contentsOf: url.appending(path: "results.jsonl"), encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
        }
    }

    /// How many lines results.jsonl holds now (a line still being written not counted).
    func resultCount() -> Int {
        let data = FileManager.default.contents(atPath: url.appending(path: "results.jsonl").path) ?? Data()
        return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// summary.json, decoded.
    func summary() throws -> [String: Any] {
        let data = try Data(contentsOf: url.appending(path: "summary.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The summary's results by status.
    func byStatus() throws -> [String: Int] {
        try #require(try summary()["by_status"] as? [String: Int])
    }
}

/// Writes `text` to a new file named `name` and returns it.
func batchInput(_ name: String, _ text: String) throws -> URL {
    let file = try Checkout.temporaryFolder("batch-input").appending(path: name)
    try Data(text.utf8).write(to: file)
    return file
}
