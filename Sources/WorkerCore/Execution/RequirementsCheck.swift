import PythonBridge

/// Checks a bundle's `requirements` against the worker's Python environment before it loads.
///
/// A bundle whose requirements are not installed may still load (its imports can be lazy),
/// report ready, then fail every request with `ModuleNotFoundError`; a warning at load names
/// what is missing, so the cause is in the log before the first request. It never fails the
/// load: a requirement may be met in ways the check cannot see. The check itself is
/// `launch_worker.requirements.unmet_requirements` in the Python runtime.
public enum RequirementsCheck {
    /// The warning to log for `requirements`, or nil when every one is met (or there are none,
    /// in which case Python is not called at all).
    ///
    /// - Throws: ``PythonError`` when the check itself fails.
    public static func warning(for requirements: [String], interpreter: PythonInterpreter) async throws -> String? {
        guard !requirements.isEmpty else { return nil }
        return try await interpreter.mainThread.run { gil in
            let check = try gil.importModule("launch_worker.requirements").attribute("unmet_requirements_warning")
            return try check.call(requirements.map { try gil.string($0) }).stringValue()
        }
    }
}
