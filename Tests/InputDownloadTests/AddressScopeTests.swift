import InputDownload
import Testing

@Suite("which addresses url inputs may reach")
struct AddressScopeTests {
    @Test(
        "non-public addresses are named",
        arguments: [
            ("127.0.0.1", "a loopback address"), ("127.9.9.9", "a loopback address"), ("::1", "a loopback address"),
            ("[::1]", "a loopback address"), ("10.1.2.3", "a private address"), ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"), ("192.168.1.1", "a private address"),
            ("169.254.169.254", "a link-local address"), ("fe80::1", "a link-local address"),
            ("fd00::1", "a private (unique local) address"), ("0.0.0.0", "an unspecified (this-network) address"),
            ("::", "an unspecified address"), ("100.64.0.1", "a shared (carrier-grade NAT) address"),
            ("224.0.0.1", "a multicast address"), ("ff02::1", "a multicast address"),
            ("255.255.255.255", "a reserved address"), ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:10.0.0.1", "a private address"), ("64:ff9b::a9fe:a9fe", "a link-local address"),
            ("2002:c0a8:0101::1", "a private address"), ("not-an-address", "not an IP address"),
        ])
    func nonPublic(address: String, kind: String) {
        #expect(AddressScope.nonPublicKind(of: address) == kind)
    }

    @Test("public addresses pass", arguments: ["93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:2800:220:1::1"])
    func isPublic(address: String) {
        #expect(AddressScope.nonPublicKind(of: address) == nil)
    }
}
