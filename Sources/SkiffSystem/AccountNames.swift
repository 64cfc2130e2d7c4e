import Glibc
import Synchronization

/// User and group names by id, and ids by name, through the system's NSS, cached.
package final class AccountNames: Sendable {
    private let users = Mutex<[UInt32: String?]>([:])
    private let groups = Mutex<[UInt32: String?]>([:])

    package init() {}

    package func userName(_ uid: UInt32) -> String? {
        if let cached = users.withLock({ $0[uid] }) { return cached }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let name: String? = getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
            ? String(cString: entry.pw_name) : nil
        users.withLock { $0[uid] = name }
        return name
    }

    package func groupName(_ gid: UInt32) -> String? {
        if let cached = groups.withLock({ $0[gid] }) { return cached }
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        let name: String? = getgrgid_r(gid, &entry, &buffer, buffer.count, &result) == 0 && result != nil
            ? String(cString: entry.gr_name) : nil
        groups.withLock { $0[gid] = name }
        return name
    }

    package static func uid(named name: String) -> UInt32? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        return getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0 && result != nil ? entry.pw_uid : nil
    }

    package static func gid(named name: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        return getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0 && result != nil ? entry.gr_gid : nil
    }
}
