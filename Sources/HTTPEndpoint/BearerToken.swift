import Foundation

/// The secret a client must send as `Authorization: Bearer <token>`, compared in constant time.
public struct BearerToken: Sendable {
    private let expected: [UInt8]

    /// Reads the token from `file` (surrounding whitespace ignored).
    ///
    /// - Throws: ``HTTPEndpointError`` when the file cannot be read or holds no token.
    public init(file: String) throws(HTTPEndpointError) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw HTTPEndpointError("cannot read the token file \(file)")
        }
        let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw HTTPEndpointError("the token file \(file) is empty") }
        expected = Array(token.utf8)
    }

    /// Whether an `Authorization` header value carries the token. Takes the same time whatever
    /// the bytes of a wrong token, so timing reveals nothing of the secret.
    public func authorizes(_ header: String?) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let offered = Array(header.utf8.dropFirst("Bearer ".utf8.count))
        var difference = UInt8(offered.count == expected.count ? 0 : 1)
        for index in expected.indices {
            difference |= expected[index] ^ (index < offered.count ? offered[index] : 0)
        }
        return difference == 0
    }
}

/// An HTTP endpoint that cannot start, with what to do about it.
public struct HTTPEndpointError: Error, Sendable, CustomStringConvertible {
    public var description: String

    /// Makes an error with a message that says what to do.
    public init(_ description: String) {
        self.description = description
    }
}
