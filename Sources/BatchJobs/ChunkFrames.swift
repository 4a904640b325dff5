import JSONBytes
import WorkerCore

/// The frames that carry chunks between `batch --processes` and its worker processes, over a
/// pipe each way: a chunk of requests down, its responses (or why there are none) back.
///
/// Each frame is its payload's length (4 bytes) and the payload; numbers are little-endian. A
/// request payload is the chunk's id (8 bytes), its count (4), and per input its line (4), its
/// kind (1: 0 for `args` text with a JSON result, 1 for a whole request body) and its bytes
/// (length-prefixed). A response payload is the chunk's id, a stop byte (0: answered; else a
/// ``BatchStop`` with its message) and per input its status (1), which field it fills (1) and
/// that field's text.
public enum ChunkFrames {
    /// The id of the frame a worker sends once its bundle is loaded.
    public static let readyID = UInt64.max

    /// The frame for chunk `id` of `requests`.
    public static func requests(_ requests: [BatchRequest], id: UInt64) -> [UInt8] {
        var payload = Writer()
        payload.integer(id, bytes: 8)
        payload.integer(UInt64(requests.count), bytes: 4)
        for item in requests {
            payload.integer(UInt64(item.line), bytes: 4)
            if !item.request.resultIsPickled, case .args(let json) = item.request.input {
                payload.integer(0, bytes: 1)
                payload.text(json)
            } else {
                payload.integer(1, bytes: 1)
                payload.text(body(of: item.request))
            }
        }
        return payload.framed()
    }

    /// The frame answering chunk `id`: its responses, or why it stopped.
    public static func responses(_ result: Result<[TaskResponse], BatchStop>, id: UInt64) -> [UInt8] {
        var payload = Writer()
        payload.integer(id, bytes: 8)
        switch result {
        case .failure(.interrupted): payload.integer(1, bytes: 1)
        case .failure(.output(let message)):
            payload.integer(2, bytes: 1)
            payload.text(message)
        case .failure(.worker(let message)):
            payload.integer(3, bytes: 1)
            payload.text(message)
        case .success(let responses):
            payload.integer(0, bytes: 1)
            payload.integer(UInt64(responses.count), bytes: 4)
            for response in responses {
                payload.integer(response.status == .success ? 0 : 1, bytes: 1)
                let field: (Int, String) =
                    if let result = response.result {
                        (0, result)
                    } else if let url = response.resultURL {
                        (1, url)
                    } else {
                        (2, response.traceback ?? "")
                    }
                payload.integer(UInt64(field.0), bytes: 1)
                payload.text(field.1)
            }
        }
        return payload.framed()
    }

    /// A request frame's payload: its chunk id and requests; nil when it is malformed.
    public static func decodeRequests(_ payload: [UInt8]) -> (id: UInt64, requests: [BatchRequest])? {
        var reader = Reader(bytes: payload)
        guard let id = reader.integer(bytes: 8), let count = reader.integer(bytes: 4) else { return nil }
        var requests: [BatchRequest] = []
        requests.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let line = reader.integer(bytes: 4), let kind = reader.integer(bytes: 1), let bytes = reader.field()
            else { return nil }
            let request: PredictRequest
            if kind == 0 {
                request = PredictRequest(input: .args(json: String(decoding: bytes, as: UTF8.self)))
            } else {
                guard let decoded = try? PredictRequest(json: Array(bytes)) else { return nil }
                request = decoded
            }
            requests.append(BatchRequest(line: Int(line), request: request))
        }
        return (id, requests)
    }

    /// A response frame's payload: its chunk id and responses or stop; nil when it is malformed.
    public static func decodeResponses(_ payload: [UInt8]) -> (id: UInt64, result: Result<[TaskResponse], BatchStop>)? {
        var reader = Reader(bytes: payload)
        guard let id = reader.integer(bytes: 8), let stop = reader.integer(bytes: 1) else { return nil }
        switch stop {
        case 0: break
        case 1: return (id, .failure(.interrupted))
        case 2: return reader.string().map { (id, .failure(.output($0))) }
        case 3: return reader.string().map { (id, .failure(.worker($0))) }
        default: return nil
        }
        guard let count = reader.integer(bytes: 4) else { return nil }
        var responses: [TaskResponse] = []
        responses.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let status = reader.integer(bytes: 1), let field = reader.integer(bytes: 1),
                let text = reader.string()
            else { return nil }
            var response = TaskResponse(status: status == 0 ? .success : .failure)
            switch field {
            case 0: response.result = text
            case 1: response.resultURL = text
            default: response.traceback = text
            }
            responses.append(response)
        }
        return (id, .success(responses))
    }

    /// The body `PredictRequest(json:)` reads back as `request` (its callback left out: a batch
    /// calls none back).
    static func body(of request: PredictRequest) -> String {
        let input =
            switch request.input {
            case .args(let json): "\"args\":\(json)"
            case .url(let location): "\"url\":\(JSONText.quote(location))"
            case .cloudpickle(let location): "\"cloudpickle\":\(JSONText.quote(location))"
            }
        return "{\(input),\"return_pickled\":\(request.returnPickled)}"
    }

    private struct Writer {
        var bytes: [UInt8] = [0, 0, 0, 0]

        mutating func integer(_ value: UInt64, bytes count: Int) {
            for shift in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(shift)))) }
        }

        mutating func text(_ text: String) {
            var text = text
            text.withUTF8 { utf8 in
                integer(UInt64(utf8.count), bytes: 4)
                bytes.append(contentsOf: utf8)
            }
        }

        /// The frame: the payload with its length in front.
        func framed() -> [UInt8] {
            var frame = bytes
            let length = UInt32(frame.count - 4)
            for shift in 0..<4 { frame[shift] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(shift))) }
            return frame
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func integer(bytes count: Int) -> UInt64? {
            guard offset + count <= bytes.count else { return nil }
            var value: UInt64 = 0
            for shift in 0..<count { value |= UInt64(bytes[offset + shift]) << (8 * UInt64(shift)) }
            offset += count
            return value
        }

        mutating func field() -> ArraySlice<UInt8>? {
            guard let length = integer(bytes: 4), offset + Int(length) <= bytes.count else { return nil }
            defer { offset += Int(length) }
            return bytes[offset..<offset + Int(length)]
        }

        mutating func string() -> String? {
            field().map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
