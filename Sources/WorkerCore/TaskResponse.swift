import Foundation
import JSONBytes

/// Launch's task status.
public enum TaskStatus: String, Sendable, Codable, CaseIterable {
    case pending = "PENDING"
    case started = "STARTED"
    case success = "SUCCESS"
    case failure = "FAILURE"
    case undefined = "UNDEFINED"
}

/// A task's answer in Launch's shape: `{"status": "SUCCESS", "result": "<JSON text>"}`,
/// `{"status": "SUCCESS", "result_url": "file://..."}` or `{"status": "FAILURE", "traceback": "..."}`.
public struct TaskResponse: Sendable, Equatable, Codable {
    /// The task's status.
    public var status: TaskStatus
    /// `json.dumps(output)`: a JSON string holding the serialised output, not the output itself.
    public var result: String?
    /// Where the pickled output is stored.
    public var resultURL: String?
    /// The Python traceback (or the reason) of a failure.
    public var traceback: String?

    enum CodingKeys: String, CodingKey {
        case status, result, traceback
        case resultURL = "result_url"
    }

    /// A success whose output was encoded as JSON text.
    public static func success(result: String) -> TaskResponse {
        TaskResponse(status: .success, result: result)
    }

    /// A success whose pickled output is stored at `resultURL`.
    public static func success(resultURL: URL) -> TaskResponse {
        TaskResponse(status: .success, resultURL: resultURL.absoluteString)
    }

    /// A failure with its traceback or reason.
    public static func failure(traceback: String) -> TaskResponse {
        TaskResponse(status: .failure, traceback: traceback)
    }

    /// Makes a response from its parts.
    public init(status: TaskStatus, result: String? = nil, resultURL: String? = nil, traceback: String? = nil) {
        self.status = status
        self.result = result
        self.resultURL = resultURL
        self.traceback = traceback
    }

    /// The response as one line of JSON, keys sorted.
    public func jsonData() -> Data {
        Data(jsonBytes())
    }

    /// The same line as bytes, written once into an array of the right size: what an HTTP answer
    /// copies into its buffer, with no `String` or `Data` made on the way.
    public func jsonBytes() -> [UInt8] {
        var json: [UInt8] = []
        // The texts, the keys, quotes and separators; escapes may grow it past this.
        json.reserveCapacity(
            (result?.utf8.count ?? 0) + (resultURL?.utf8.count ?? 0) + (traceback?.utf8.count ?? 0) + 64)
        JSONText.appendObject(
            ["result": result, "result_url": resultURL, "status": status.rawValue, "traceback": traceback],
            to: &json)
        return json
    }
}
