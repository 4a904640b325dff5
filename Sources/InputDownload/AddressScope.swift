#if canImport(Glibc)
    import Glibc
#endif

/// Which IP addresses a url input may reach without `--allow-private-urls`: the rule that keeps
/// a request from making the worker fetch from itself, its pod's network or a cloud's metadata
/// service (169.254.169.254).
///
/// An address is public unless it falls in a range below; IPv4 addresses embedded in IPv6 ones
/// (`::ffff:127.0.0.1`, NAT64, 6to4) are judged by the IPv4 address.
public enum AddressScope {
    /// A range of addresses and what the user reads about it ("a loopback address").
    private struct Range {
        let prefix: [UInt8]
        let bits: Int
        let kind: String

        init(_ prefix: [UInt8], _ bits: Int, _ kind: String) {
            self.prefix = prefix
            self.bits = bits
            self.kind = kind
        }

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == prefix.count else { return false }
            for bit in 0..<bits {
                let mask = UInt8(0x80) >> UInt8(bit % 8)
                if address[bit / 8] & mask != prefix[bit / 8] & mask { return false }
            }
            return true
        }
    }

    private static let ipv4: [Range] = [
        Range([0, 0, 0, 0], 8, "an unspecified (this-network) address"),
        Range([10, 0, 0, 0], 8, "a private address"),
        Range([100, 64, 0, 0], 10, "a shared (carrier-grade NAT) address"),
        Range([127, 0, 0, 0], 8, "a loopback address"),
        Range([169, 254, 0, 0], 16, "a link-local address"),
        Range([172, 16, 0, 0], 12, "a private address"),
        Range([192, 0, 0, 0], 24, "an IETF protocol address"),
        Range([192, 168, 0, 0], 16, "a private address"),
        Range([198, 18, 0, 0], 15, "a benchmarking address"),
        Range([224, 0, 0, 0], 4, "a multicast address"),
        Range([240, 0, 0, 0], 4, "a reserved address"),
    ]

    private static let ipv6: [Range] = [
        Range([UInt8](repeating: 0, count: 16), 128, "an unspecified address"),
        Range([UInt8](repeating: 0, count: 15) + [1], 128, "a loopback address"),
        Range([UInt8](repeating: 0, count: 16), 96, "a reserved (IPv4-compatible) address"),
        Range([0xfc] + [UInt8](repeating: 0, count: 15), 7, "a private (unique local) address"),
        Range([0xfe, 0x80] + [UInt8](repeating: 0, count: 14), 10, "a link-local address"),
        Range([0xfe, 0xc0] + [UInt8](repeating: 0, count: 14), 10, "a private (site-local) address"),
        Range([0xff] + [UInt8](repeating: 0, count: 15), 8, "a multicast address"),
    ]

    /// What kind of non-public address `address` (IPv4 or IPv6 text) is, or nil when it is public.
    /// Text that is not an IP address is reported as such: nothing unknown is let through.
    public static func nonPublicKind(of address: String) -> String? {
        guard let bytes = bytes(of: address) else { return "not an IP address" }
        return nonPublicKind(of: bytes)
    }

    /// Whether `host` (a URL's host, IPv6 possibly in brackets) is an IP address rather than a name.
    public static func isIPAddress(_ host: String) -> Bool {
        bytes(of: host) != nil
    }

    private static func nonPublicKind(of bytes: [UInt8]) -> String? {
        if bytes.count == 4 { return ipv4.first { $0.contains(bytes) }?.kind }
        if let embedded = embeddedIPv4(bytes) { return nonPublicKind(of: embedded) }
        return ipv6.first { $0.contains(bytes) }?.kind
    }

    /// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`) or
    /// 6to4 (`2002:aabb:ccdd::`) address.
    private static func embeddedIPv4(_ bytes: [UInt8]) -> [UInt8]? {
        let mapped = [UInt8](repeating: 0, count: 10) + [0xff, 0xff]
        let nat64: [UInt8] = [0, 0x64, 0xff, 0x9b] + [UInt8](repeating: 0, count: 8)
        if Array(bytes[0..<12]) == mapped || Array(bytes[0..<12]) == nat64 { return Array(bytes[12..<16]) }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return Array(bytes[2..<6]) }
        return nil
    }

    /// The address's bytes (4 or 16), nil when `text` is not an IP address.
    private static func bytes(of text: String) -> [UInt8]? {
        var text = text
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
