import Foundation
import NIOCore
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A task's answer in the client's shape: `state` exactly `PENDING`, `SUCCESS` or `FAILURE` (the
/// client raises on any other word, so a started task reads PENDING), with `result`,
/// `result_url` or `traceback`. A pickled result's `file://` URL under the results folder
/// becomes the gateway's `/results/<file>` route, which the user can open.
struct TaskAnswer: Sendable {
    /// The results folder workers write pickles into.
    var results: URL
    /// `http://<the Host the client reached us by>`.
    var baseURL: String

    /// A sync answer: the JSON body for the client and its state, or nil for a worker answer
    /// passed on as it is (a bad request, a timeout, a busy worker).
    typealias SyncAnswer = (body: ByteBuffer, state: String)

    /// The answer for a worker's `/predict` answer.
    ///
    /// A JSON result (the common case) is not parsed: `"state":"SUCCESS"` is added to the
    /// worker's object as its last member (its own `status` stays, which the client ignores).
    func sync(status: Int, body: ByteBuffer) -> SyncAnswer? {
        switch status {
        case 200:
            if body.readableBytesView.last == UInt8(ascii: "}"), !Self.mentionsResultURL(body) {
                var answer = body.getSlice(at: body.readerIndex, length: body.readableBytes - 1) ?? ByteBuffer()
                answer.writeStaticString(#","state":"SUCCESS"}"#)
                return (answer, "SUCCESS")
            }
            let object =
                (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            var answer: [String: Any] = ["state": "SUCCESS"]
            if let result = object["result"] { answer["result"] = result }
            if let url = object["result_url"] as? String { answer["result_url"] = reachable(url) }
            return (ByteBuffer(bytes: JSONAnswer.data(answer)), "SUCCESS")
        case 500:
            let object =
                (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            let detail = object["detail"] as? [String: Any]
            let traceback = detail?["traceback"] ?? object["detail"] ?? "the worker failed"
            return (ByteBuffer(bytes: JSONAnswer.data(["state": "FAILURE", "traceback": traceback])), "FAILURE")
        default:
            return nil
        }
    }

    /// Whether the worker's answer has a `result_url` (which may need to become the gateway's):
    /// a byte search, as the common answer is not parsed.
    private static func mentionsResultURL(_ body: ByteBuffer) -> Bool {
        let key: StaticString = #""result_url""#
        return body.withUnsafeReadableBytes { bytes in
            guard bytes.count >= key.utf8CodeUnitCount, let base = bytes.baseAddress else { return false }
            var start = base
            let end = base + bytes.count - key.utf8CodeUnitCount
            while start <= end {
                guard let quote = memchr(start, Int32(UInt8(ascii: "\"")), end - start + 1) else { return false }
                if memcmp(quote, key.utf8Start, key.utf8CodeUnitCount) == 0 { return true }
                start = UnsafeRawPointer(quote) + 1
            }
            return false
        }
    }

    /// The answer for async task `id`'s outcome.
    func async(_ response: TaskOutcome, id: String) -> [String: Any] {
        var answer: [String: Any] = ["task_id": id]
        switch response.status {
        case .success:
            answer["state"] = "SUCCESS"
            if let result = response.result { answer["result"] = result }
            if let url = response.resultURL { answer["result_url"] = reachable(url) }
        case .failure:
            answer["state"] = "FAILURE"
            answer["traceback"] = response.traceback ?? "the task failed"
        case .pending, .started, .undefined:
            answer["state"] = "PENDING"
        }
        return answer
    }

    /// `url` as the gateway serves it, when it names a pickle in the results folder.
    private func reachable(_ url: String) -> String {
        let prefix = results.absoluteString.hasSuffix("/") ? results.absoluteString : results.absoluteString + "/"
        guard url.hasPrefix(prefix), let name = url.dropFirst(prefix.count).removingPercentEncoding,
            ResultFiles.isValidName(name)
        else { return url }
        return "\(baseURL)/results/\(name)"
    }
}

/// The pickled results the gateway serves at `/results/<name>`: only plain file names in the
/// results folder.
enum ResultFiles {
    /// Whether `name` is a pickle's plain file name (no folders, no hidden files).
    static func isValidName(_ name: String) -> Bool {
        name.hasSuffix(".pkl") && !name.hasPrefix(".") && name.count <= 255
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }
}
