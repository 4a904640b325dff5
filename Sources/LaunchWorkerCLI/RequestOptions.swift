import ArgumentParser
import Foundation
import WorkerCore

/// The options that make one request: `--args`, `--url` or `--request`, and `--return-pickled`.
struct RequestOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "predict's keyword arguments as a JSON object, or @FILE to read them from a file.", valueName: "JSON"))
    var args: String?

    @Option(
        help: "A local path, file:// URL or http(s) URL whose bytes are passed to predict as its one argument.")
    var url: String?

    @Option(
        help: ArgumentHelp(
            "A whole Launch request body ({\"args\": ...}, {\"url\": ...} or {\"cloudpickle\": ...}), or @FILE.",
            valueName: "JSON"))
    var request: String?

    @Flag(help: "Store cloudpickle.dumps(output) as a file and answer with its file:// URL.")
    var returnPickled = false

    func validate() throws {
        guard [args, url, request].compactMap({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --args, --url and --request")
        }
        if request != nil, returnPickled {
            throw ValidationError("with --request, put \"return_pickled\": true in the request body")
        }
    }

    /// The request body these options make, checked like any request.
    func body() throws(CLIError) -> [UInt8] {
        let body: [UInt8]
        let option: String
        if let request {
            option = "--request"
            body = Array(try Self.text(request, option: option).utf8)
        } else if let url {
            option = "--url"
            let object: [String: Any] = ["url": url, "return_pickled": returnPickled]
            // Encoding a string and a bool cannot fail.
            body = Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
        } else {
            option = "--args"
            let text = try Self.text(args ?? "", option: option)
            guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: .fragmentsAllowed)) != nil else {
                throw CLIError(message: "--args is not valid JSON: \(text.prefix(200))")
            }
            body = Array("{\"args\": \(text), \"return_pickled\": \(returnPickled)}".utf8)
        }
        do {
            _ = try PredictRequest(json: body)
        } catch {
            throw CLIError(message: "\(option): \(error.reason)")
        }
        return body
    }

    /// The option's value, or the contents of the file it names as `@FILE`.
    private static func text(_ value: String, option: String) throws(CLIError) -> String {
        guard value.hasPrefix("@") else { return value }
        let file = String(value.dropFirst())
        guard let contents = FileManager.default.contents(atPath: file) else {
            throw CLIError(message: "\(option) @\(file): cannot read \(file)")
        }
        return String(decoding: contents, as: UTF8.self)
    }
}
