import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Words for the errors NIO gives when a connection cannot be made or ends early, which print as
/// their types do (`connection reset (error set): Connection refused) (errno: 111)`, `stream
/// ended at an unexpected time`).
public enum ConnectionFailure {
    /// `Connection refused`, `its host example.com did not resolve`, `cannot connect to
    /// example.com:443: Network is unreachable`, `the connection closed before the whole body
    /// arrived`; any other error as it prints.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPParserError where error == .invalidEOFState:
            return "the connection closed before the whole body arrived"
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            return "its server closed the connection before it answered"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode))
        case let error as NIOConnectionError where error.connectionErrors.isEmpty:
            return "its host \(error.host) did not resolve"
        case let error as NIOConnectionError:
            return "cannot connect to \(error.host):\(error.port): \(describe(error.connectionErrors[0].error))"
        default:
            return "\(error)"
        }
    }
}
