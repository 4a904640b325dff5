import Foundation

/// The secret a client must send as `Authorization: Bearer <token>` (the scheme in any case),
/// compared in constant time.
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

    /// Whether an `Authorization` header value carries the token: `Bearer`, in any case (RFC
    /// 7235: the scheme is case-insensitive), one or more spaces, then the token. Takes the same
    /// time whatever the bytes of a wrong token, so timing reveals nothing of the secret.
    public func authorizes(_ header: String?) -> Bool {
        guard let header else { return false }
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        let space = UInt8(ascii: " ")
        // An ASCII letter's bit 0x20 makes it small.
        guard bytes.count > scheme.count, zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 }),
            bytes[scheme.count] == space
        else { return false }
        let offered = Array(bytes[scheme.count...].drop { $0 == space })
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
