import Foundation
import NIOCore
import NIOPosix

/// Words for the errors NIO gives when a connection cannot be made, which print as their types
/// do (`connection reset (error set): Connection refused) (errno: 111)`).
public enum ConnectionFailure {
    /// `Connection refused`, `its host example.com did not resolve`, `cannot connect to
    /// example.com:443: Network is unreachable`; any other error as it prints.
    public static func describe(_ error: any Error) -> String {
        switch error {
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
