import Foundation
import HTTPTypes
import Testing

@testable import Gateway

@Suite("APIKeyAuthentication")
struct APIKeyAuthenticationTests {
    private func header(_ credentials: String) -> HTTPFields {
        [.authorization: "Basic " + Data(credentials.utf8).base64EncodedString()]
    }

    @Test("the user name of Basic authentication is the key; its owner is its SHA-256")
    func ownerOfKey() throws {
        let authentication = APIKeyAuthentication(allowedOwners: nil)
        let owner = try authentication.owner(of: header("key-one:"))
        #expect(owner == APIKeyAuthentication.owner(ofKey: "key-one"))
        #expect(owner != APIKeyAuthentication.owner(ofKey: "key-two"))
        #expect(!owner.contains("key-one"))
    }

    @Test("no header, another scheme, an empty user, or a key not allowed: 401")
    func refusals() {
        let authentication = APIKeyAuthentication(allowedOwners: [APIKeyAuthentication.owner(ofKey: "allowed")])
        for fields in [HTTPFields(), header(":password"), [.authorization: "Bearer allowed"], header("other:")] {
            #expect(throws: GatewayRefusal.self) { try authentication.owner(of: fields) }
        }
        #expect((try? authentication.owner(of: header("allowed:"))) != nil)
    }
}
