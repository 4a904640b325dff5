/// A bundle's pip requirement lines, normalised so that lists meaning the same thing are equal:
/// comments and blank lines dropped, runs of spaces made one, each project's name written the
/// way PEP 503 compares names (`Scikit_Learn` is `scikit-learn`), sorted, each line once.
///
/// Equal lists make the same environment key, so bundles that want the same packages share an
/// environment however their authors wrote the lines.
public struct RequirementList: Sendable, Equatable {
    /// The normalised lines.
    public private(set) var lines: [String]

    /// Normalises `lines` (requirement lines as in a requirements file, or `requirements`).
    public init(_ lines: [String]) {
        var normalised = Set<String>()
        for line in lines {
            let text = Self.withoutComment(line).split(whereSeparator: \.isWhitespace).joined(separator: " ")
            guard !text.isEmpty else { continue }
            normalised.insert(Self.withCanonicalName(text))
        }
        self.lines = normalised.sorted()
    }

    /// Whether a line names `project` (compared as PEP 503 does).
    public func names(_ project: String) -> Bool {
        let wanted = Self.canonical(project)
        return lines.contains { Self.projectName(of: $0) == wanted }
    }

    /// This list with `line` added unless a line already names its project: the bundle's own
    /// pins win over what the runtime or `env_params` would add.
    public func adding(_ line: String) -> RequirementList {
        guard let project = Self.projectName(of: line), !names(project) else { return self }
        return RequirementList(lines + [line])
    }

    /// The canonical project name a requirement line starts with; nil for an option line
    /// (`--extra-index-url ...`) or a URL.
    public static func projectName(of line: String) -> String? {
        let name = line.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }
        guard let first = name.first, first.isLetter || first.isNumber else { return nil }
        let rest = line.dropFirst(name.count)
        if rest.hasPrefix(":") { return nil }  // a URL such as https://...
        return canonical(String(name))
    }

    /// `name` lower-cased with each run of `-`, `_` and `.` made one `-` (PEP 503).
    public static func canonical(_ name: String) -> String {
        var result = ""
        var inSeparatorRun = false
        for character in name.lowercased() {
            if character == "-" || character == "_" || character == "." {
                if !inSeparatorRun { result.append("-") }
                inSeparatorRun = true
            } else {
                result.append(character)
                inSeparatorRun = false
            }
        }
        return result
    }

    private static func withCanonicalName(_ line: String) -> String {
        guard let project = projectName(of: line) else { return line }
        let nameLength = line.prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }.count
        return project + line.dropFirst(nameLength)
    }

    /// The line without a `#` comment (a `#` that starts the line or follows a space, as pip
    /// reads it, so `pkg @ https://host/x.whl#sha256=...` keeps its fragment).
    private static func withoutComment(_ line: String) -> Substring {
        var previous: Character = " "
        for index in line.indices {
            if line[index] == "#", previous.isWhitespace { return line[..<index] }
            previous = line[index]
        }
        return Substring(line)
    }
}
