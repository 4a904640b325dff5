/// What an archive entry may be: a plain file (or folder) under a relative name that stays
/// inside the folder it is unpacked into. Everything else is refused with the reason.
enum EntryPolicy {
    /// The entry's path components, checked: nothing absolute, no `..`, no empty name.
    ///
    /// - Throws: ``ArchiveError`` (`unsafeEntry`) naming the entry.
    static func components(of entry: TarEntry, bundle: String) throws -> [String] {
        let name = entry.name
        func refuse(_ reason: String) -> ArchiveError {
            ArchiveError(.unsafeEntry, bundle: bundle, entry: name, reason: "is refused: \(reason)")
        }
        if name.isEmpty { throw refuse("it has an empty name") }
        if name.utf8.contains(0) { throw refuse("its name holds a NUL byte") }
        if name.hasPrefix("/") || name.hasPrefix("\\") { throw refuse("it has an absolute name") }
        let parts = name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init)
        if parts.contains("..") { throw refuse("its name has a '..' component") }
        let components = parts.filter { $0 != "." }
        if components.isEmpty { throw refuse("its name is the folder itself") }
        switch entry.kind {
        case .file, .directory:
            return components
        case .symbolicLink:
            if pointsOutside(link: components, target: entry.linkTarget) {
                throw refuse("it is a symbolic link pointing outside the bundle (to '\(entry.linkTarget)')")
            }
            throw refuse("it is a symbolic link (to '\(entry.linkTarget)'); a bundle holds only plain files")
        case .hardLink:
            throw refuse("it is a hard link (to '\(entry.linkTarget)'); a bundle holds only plain files")
        case .characterDevice, .blockDevice:
            throw refuse("it is a device file")
        case .fifo:
            throw refuse("it is a FIFO")
        case .other(let flag):
            throw refuse(
                "its type '\(Character(Unicode.Scalar(flag)))' is not supported; a bundle holds only plain files")
        }
    }

    /// Whether a link at `link` (path components) to `target` resolves outside the root.
    static func pointsOutside(link: [String], target: String) -> Bool {
        if target.hasPrefix("/") { return true }
        var depth = link.count - 1
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                depth -= 1
                if depth < 0 { return true }
            default: depth += 1
            }
        }
        return false
    }
}
