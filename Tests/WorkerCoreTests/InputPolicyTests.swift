import Foundation
import InputDownload
import TestSupport
import Testing
import WorkerCore

/// What a front end's ``InputPolicy`` lets a request's url be, through the real executor.
@Suite("url inputs under a front end's policy")
struct InputPolicyTests {
    private static let helloSHA256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    private static let loopback = DownloadRules(allowPrivateAddresses: true)

    /// A folder holding `in.bin` ("hello"), and a file beside it outside the folder.
    private func inputs() throws -> (root: URL, inside: URL, outside: URL) {
        let top = try Checkout.temporaryFolder("inputs")
        let root = top.appending(path: "root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let inside = root.appending(path: "in.bin")
        try Data("hello".utf8).write(to: inside)
        let outside = top.appending(path: "secret.txt")
        try Data("secret".utf8).write(to: outside)
        return (root, inside, outside)
    }

    @Test("from the network without --url-root, no local path or file:// URL is read")
    func noRoot() async throws {
        let harness = try await Harness("bytes-echo")
        let (_, inside, _) = try inputs()
        let policy = try InputPolicy.networkProducers(roots: [], download: Self.loopback)
        for location in [inside.path, inside.absoluteString, "/etc/passwd", "file:///etc/passwd"] {
            let execution = try await harness.execute(
                PredictRequest(input: .url(location)), taskID: "t", inputs: policy)
            #expect(execution.response.status == .failure)
            let reason = try #require(execution.inputError).description
            #expect(reason.contains("\(location) is refused: local paths and file:// URLs are not read"), "\(reason)")
            #expect(reason.contains("--url-root DIR"))
            #expect(execution.response.traceback == reason)
        }
    }

    @Test("under --url-root, a file inside is read; .., a symbolic link or a path outside is refused")
    func underRoot() async throws {
        let harness = try await Harness("bytes-echo")
        let (root, inside, outside) = try inputs()
        try FileManager.default.createDirectory(at: root.appending(path: "sub"), withIntermediateDirectories: true)
        let link = root.appending(path: "link")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: outside)
        let policy = try InputPolicy.networkProducers(roots: [root.path], download: Self.loopback)
        for location in [inside.path, inside.absoluteString, root.path + "/./sub/../in.bin"] {
            let result = try await harness.run(#"{"url": "\#(location)"}"#, inputs: policy)
            let expected = try canonical(#"{"length": 5, "sha256": "\#(Self.helloSHA256)"}"#)
            #expect(try result.result.map(canonical) == expected, "\(location): \(result)")
        }
        let escapes = [
            root.path + "/../secret.txt", "file://" + root.path + "/../secret.txt", link.path, outside.path,
            root.path + "/../no-such-file",
        ]
        for location in escapes {
            let execution = try await harness.execute(
                PredictRequest(input: .url(location)), taskID: "t", inputs: policy)
            let reason = try #require(execution.inputError, "\(location) was read").description
            #expect(reason.contains("is outside every --url-root"), "\(reason)")
        }
        let missing = try await harness.run(#"{"url": "\#(root.path)/no-such-file"}"#, inputs: policy)
        #expect(missing.traceback?.contains("no-such-file does not exist") == true)
    }

    @Test("a --url-root that is not a folder is refused")
    func badRoot() throws {
        let (_, inside, _) = try inputs()
        #expect(throws: InputPolicyError.self) {
            try InputPolicy.networkProducers(roots: [inside.path], download: DownloadRules())
        }
    }

    @Test("an http URL is downloaded and its bytes passed to predict, under either policy")
    func downloaded() async throws {
        let harness = try await Harness("bytes-echo")
        let server = try await InputServer()
        let url = try server.serve(Array("hello".utf8), as: "in.bin")
        let network = try InputPolicy.networkProducers(roots: [], download: Self.loopback)
        for policy in [network, .localProducers(download: Self.loopback)] {
            let result = try await harness.run(#"{"url": "\#(url)"}"#, inputs: policy)
            #expect(try result.result.map(canonical) == canonical(#"{"length": 5, "sha256": "\#(Self.helloSHA256)"}"#))
        }
        let refused = try await harness.execute(
            PredictRequest(input: .url(url)), taskID: "t", inputs: .localProducers(download: DownloadRules()))
        #expect(refused.inputError?.description.contains("a loopback address") == true)
        let otherScheme = try await harness.run(#"{"url": "s3://bucket/key"}"#)
        #expect(otherScheme.traceback?.contains("uses s3://, which the worker cannot read") == true)
        await server.stop()
    }

    @Test("a local folder, named pipe or device is refused at once; a file over --max-url-bytes too")
    func notRegularOrTooLarge() async throws {
        let harness = try await Harness("bytes-echo")
        let (root, inside, _) = try inputs()
        let pipe = try UnwrittenPipe(at: root.appending(path: "pipe").path)
        let policy = InputPolicy.localProducers(download: DownloadRules(maxBytes: 4))
        for location in [pipe.path, root.path, "/dev/zero"] {
            let execution = try await harness.execute(
                PredictRequest(input: .url(location)), taskID: "t", inputs: policy)
            let reason = try #require(execution.inputError, "\(location) was read").description
            #expect(reason.contains("\(location) is not a regular file"), "\(reason)")
        }
        #expect(!pipe.waitedForWriter())
        let large = try await harness.execute(PredictRequest(input: .url(inside.path)), taskID: "t", inputs: policy)
        #expect(
            large.inputError?.description.contains("is refused: it is 5 bytes, over the limit of 4 bytes") == true,
            "\(String(describing: large.inputError))")
    }

    @Test("a local file larger than what is read where the task runs (4 MiB) is read whole on the blocking pool")
    func largeLocalFile() async throws {
        let harness = try await Harness("bytes-echo")
        let (root, _, _) = try inputs()
        let large = root.appending(path: "large.bin")
        try Data(count: 5 << 20).write(to: large)
        let result = try await harness.run(#"{"url": "\#(large.path)"}"#)
        let answer = try JSONSerialization.jsonObject(with: Data(try #require(result.result).utf8)) as? [String: Any]
        #expect(answer?["length"] as? Int == 5 << 20, "\(result)")
    }

    @Test("a presigned URL's signature is shown as *** in the FAILURE, in the URL and in a redirect's target")
    func signatureHidden() async throws {
        let harness = try await Harness("bytes-echo")
        let server = try await InputServer()
        let redirect = server.url("/redirect?sig=url-secret&to=file:///x?X-Amz-Signature=target-secret")
        let execution = try await harness.execute(
            PredictRequest(input: .url(redirect)), taskID: "t", inputs: .localProducers(download: Self.loopback))
        let traceback = try #require(execution.response.traceback)
        #expect(traceback.contains("?sig=***&to=file:///x?X-Amz-Signature=*** is refused"), "\(traceback)")
        #expect(traceback.contains("redirects to file:///x?X-Amz-Signature=***; only"), "\(traceback)")
        #expect(!traceback.contains("secret"))
        await server.stop()
    }
}
