/// What a host holds while it writes: a fresh data key for this session, the session key
/// object that carries it wrapped to the tenant, and the repository's write secrets.
///
/// The data key lives only in memory. Once the session ends the host cannot decrypt what it
/// wrote: only the tenant's restore key opens the session key object.
package struct WriteSession: Sendable {
    package let config: RepositoryConfig
    package let dataKey: SecretBytes
    package let keyObject: EncodedObject
    package let identityKey: SecretBytes

    /// Starts a session: generates a data key and wraps it to `tenant`.
    package static func start(config: RepositoryConfig, tenant: TenantPublicKey, writeSecrets: WriteSecrets) throws -> WriteSession {
        let dataKey = SecretBytes.random(count: AEADAlgorithm.keyCount)
        let keyObject = try SessionKeyEnvelope.seal(dataKey, to: tenant.encryptionKey, aead: config.aead)
        return WriteSession(config: config, dataKey: dataKey, keyObject: keyObject, identityKey: writeSecrets.identityKey)
    }

    package var keyAddress: ObjectAddress { keyObject.address }
}
