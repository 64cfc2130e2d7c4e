/// Runs `body`, then `cleanup`, whether `body` returned or threw: the `async` `defer` Swift does not have. For shutting
/// network clients down on every path; a client dropped without it leaks its connections (and AsyncHTTPClient traps in
/// debug builds). `cleanup` also runs when the task is cancelled; the error `body` threw is the one rethrown.
package func withCleanup<T>(
    isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T, cleanup: () async -> Void
) async rethrows -> T {
    let result: T
    do { result = try await body() } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}
