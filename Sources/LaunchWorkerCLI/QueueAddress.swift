import ArgumentParser
import Foundation
import SpoolQueue

/// Where tasks come from, as `--queue` names it: `spool:DIR` for now.
enum QueueAddress: ExpressibleByArgument, CustomStringConvertible {
    /// A spool folder (docs/spool-protocol.md).
    case spool(SpoolLayout)

    init?(argument: String) {
        guard argument.hasPrefix("spool:"), argument.count > "spool:".count else { return nil }
        self = .spool(SpoolLayout(root: URL(filePath: String(argument.dropFirst("spool:".count)))))
    }

    var description: String {
        switch self {
        case .spool(let layout): "spool:\(layout.root.path)"
        }
    }

    /// The spool's layout.
    var spool: SpoolLayout {
        switch self {
        case .spool(let layout): layout
        }
    }

    static var defaultValueDescription: String { "spool:DIR" }
}
