import Crypto
import Foundation
import HTTPTypes

/// HTTP Basic authentication as the Launch client sends it: the API key as the user name, an
/// empty password. Keys are kept only as their SHA-256 (the owner of bundles, endpoints and
/// tasks), so the state folder never holds one.
struct APIKeyAuthentication: Sendable {
    /// The keys allowed in, as owners; nil allows any non-empty key (loopback only).
    var allowedOwners: Set<String>?

    /// The owner (the key's SHA-256 in hex) of the request's key.
    ///
    /// - Throws: ``GatewayRefusal`` 401 when the header is missing, malformed, or names a key
    ///   that is not allowed. The key itself is never put in the answer or a log.
    func owner(of headers: HTTPFields) throws(GatewayRefusal) -> String {
        guard let key = Self.apiKey(headers[.authorization]) else {
            throw GatewayRefusal(
                .unauthorized,
                "give your API key as the user name of HTTP Basic authentication (LaunchClient(api_key=...))")
        }
        let owner = Self.owner(ofKey: key)
        if let allowedOwners, !allowedOwners.contains(owner) {
            throw GatewayRefusal(.unauthorized, "this API key is not one of the gateway's --api-keys-file")
        }
        return owner
    }

    /// The owner name of `key`.
    static func owner(ofKey key: String) -> String {
        // By hand: String(format:) costs microseconds a byte, on every request.
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(key.utf8)) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The user name of a `Basic` authorization header (the scheme in any case), nil when absent,
    /// malformed or empty.
    private static func apiKey(_ header: String?) -> String? {
        guard let header, let space = header.firstIndex(of: " "),
            header[..<space].lowercased() == "basic",
            let decoded = Data(
                base64Encoded: header[header.index(after: space)...].trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8)
        else { return nil }
        let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)
        return user?.isEmpty == false ? user : nil
    }
}
