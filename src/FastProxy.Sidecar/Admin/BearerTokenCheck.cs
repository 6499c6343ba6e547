using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace FastProxy.Sidecar.Admin;

/// <summary>Checks an <c>Authorization: Bearer</c> header against the configured token in constant time.</summary>
internal sealed class BearerTokenCheck
{
    private const string Scheme = "Bearer ";
    private readonly byte[] _expectedHash;

    public BearerTokenCheck(string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        _expectedHash = SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    /// <summary>True when the header holds exactly one value, <c>Bearer</c> and the token.</summary>
    public bool IsAuthorized(StringValues authorization)
    {
        if (authorization.Count != 1 || authorization[0] is not { } value
            || !value.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Comparing fixed-size hashes makes the time independent of where (and whether) the tokens
        // differ and of the presented token's length, so timing tells an attacker nothing about the token.
        var presented = value.AsSpan(Scheme.Length).Trim();
        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(presented.ToString());
        SHA256.HashData(bytes, presentedHash);
        return CryptographicOperations.FixedTimeEquals(presentedHash, _expectedHash);
    }
}
