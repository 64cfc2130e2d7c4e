/// What a store knows of an object's links without reading it (`ObjectStore.knownLinks`).
package enum KnownLinks: Sendable, Equatable {
    /// The store holds no such object.
    case absent
    /// The store may hold it but keeps no links for it: read its header.
    case unknown
    case known(ObjectLinks)
}
