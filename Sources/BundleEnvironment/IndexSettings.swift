import Foundation

/// Where packages come from, as the user set it for pip (`PIP_INDEX_URL`, `PIP_EXTRA_INDEX_URL`,
/// `PIP_FIND_LINKS`, `PIP_NO_INDEX`) or for uv (`UV_DEFAULT_INDEX` or `UV_INDEX_URL`,
/// `UV_INDEX` or `UV_EXTRA_INDEX_URL`, `UV_FIND_LINKS`, `UV_NO_INDEX`).
///
/// Each installer reads its own variables; these are the other's, given to it where it has no
/// setting of its own of that kind (indexes as its own variables, wheel folders as flags), so a
/// private index or an offline wheelhouse set up for either works whichever installer builds.
public struct IndexSettings: Sendable, Equatable {
    /// The index instead of PyPI.
    public var indexURL: String?
    /// Indexes searched besides it.
    public var extraIndexURLs: [String]
    /// Folders or pages of wheels.
    public var findLinks: [String]
    /// Whether no index is searched at all (only `findLinks`).
    public var noIndex: Bool

    /// Makes settings (none: PyPI, as the installers do by default).
    public init(indexURL: String? = nil, extraIndexURLs: [String] = [], findLinks: [String] = [], noIndex: Bool = false)
    {
        self.indexURL = indexURL
        self.extraIndexURLs = extraIndexURLs
        self.findLinks = findLinks
        self.noIndex = noIndex
    }

    /// pip's settings from `environment`.
    public static func pip(_ environment: [String: String]) -> IndexSettings {
        IndexSettings(
            indexURL: value("PIP_INDEX_URL", environment), extraIndexURLs: list("PIP_EXTRA_INDEX_URL", environment),
            findLinks: list("PIP_FIND_LINKS", environment), noIndex: flag("PIP_NO_INDEX", environment))
    }

    /// uv's settings from `environment`.
    public static func uv(_ environment: [String: String]) -> IndexSettings {
        IndexSettings(
            indexURL: value("UV_DEFAULT_INDEX", environment) ?? value("UV_INDEX_URL", environment),
            extraIndexURLs: list("UV_INDEX", environment) + list("UV_EXTRA_INDEX_URL", environment),
            findLinks: list("UV_FIND_LINKS", environment), noIndex: flag("UV_NO_INDEX", environment))
    }

    /// The variables that give these settings' indexes to an installer whose own settings are
    /// `own` and whose variables start with `prefix` (`PIP_`, `UV_`): each kind only where `own`
    /// has none of that kind. Indexes go by variable, not by flag: their URLs may hold a token,
    /// which a command line shows to every user of the machine (`ps`).
    public func indexVariables(prefix: String, besides own: IndexSettings) -> [String: String] {
        var variables: [String: String] = [:]
        if own.indexURL == nil, let indexURL { variables[prefix + "INDEX_URL"] = indexURL }
        if own.extraIndexURLs.isEmpty, !extraIndexURLs.isEmpty {
            variables[prefix + "EXTRA_INDEX_URL"] = extraIndexURLs.joined(separator: " ")
        }
        return variables
    }

    /// The flags that add these settings' wheel folders and `--no-index` to an installer whose
    /// own settings are `own`: each kind only where `own` has none of that kind.
    public func arguments(besides own: IndexSettings) -> [String] {
        var arguments: [String] = []
        if own.findLinks.isEmpty { arguments += findLinks.flatMap { ["--find-links", $0] } }
        if !own.noIndex, noIndex { arguments.append("--no-index") }
        return arguments
    }

    private static func value(_ name: String, _ environment: [String: String]) -> String? {
        environment[name].flatMap { $0.trimmingCharacters(in: .whitespaces).isEmpty ? nil : $0 }
    }

    /// A list variable: pip separates with spaces, uv with spaces or commas.
    private static func list(_ name: String, _ environment: [String: String]) -> [String] {
        (environment[name] ?? "").split { $0 == " " || $0 == "," || $0 == "\n" }.map(String.init)
    }

    private static func flag(_ name: String, _ environment: [String: String]) -> Bool {
        ["1", "true", "yes", "on"].contains((environment[name] ?? "").lowercased())
    }
}
