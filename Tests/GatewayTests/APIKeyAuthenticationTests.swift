import Foundation
import HTTPTypes
import Logging
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

@Suite("GatewayServer's name in logs")
struct GatewayServerDescriptionTests {
    @Test("ServiceLifecycle's lines name the gateway by its address: no API key, no broker password")
    func noSecrets() {
        var configuration = GatewayServer.Configuration(
            address: .tcp(host: "127.0.0.1", port: 5000), stateDirectory: URL(filePath: "/tmp/state"),
            executable: "/usr/bin/launch-worker")
        configuration.apiKeys = ["key-one"]
        configuration.broker = "redis://:broker-password@127.0.0.1:6379/0"
        let server = GatewayServer(configuration: configuration, logger: Logger(label: "test"))
        #expect("\(server)" == "GatewayServer(127.0.0.1:5000)")
    }
}
