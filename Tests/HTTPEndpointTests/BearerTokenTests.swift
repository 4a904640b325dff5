import Foundation
import HTTPEndpoint
import Testing

@Suite("BearerToken")
struct BearerTokenTests {
    private func token(_ text: String) throws -> BearerToken {
        let file = FileManager.default.temporaryDirectory.appending(path: "token-\(UUID().uuidString)")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try BearerToken(file: file.path)
    }

    @Test("the scheme is matched in any case (RFC 7235), after it one or more spaces")
    func schemeInAnyCase() throws {
        let token = try token("s3cret\n")
        for header in ["Bearer s3cret", "bearer s3cret", "BEARER s3cret", "bEaReR   s3cret"] {
            #expect(token.authorizes(header), "\(header)")
        }
    }

    @Test("anything else is refused")
    func refusals() throws {
        let token = try token("s3cret")
        for header in [
            nil, "", "Bearer", "Bearer ", "Bearers3cret", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret",
            "Bearer\ts3cret", "Bearer\0s3cret", "Bearxr s3cret",
        ] {
            #expect(!token.authorizes(header), "\(header ?? "nil")")
        }
    }
}
