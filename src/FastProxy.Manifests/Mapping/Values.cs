using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Manifests.Syntax;

namespace FastProxy.Manifests.Mapping;

/// <summary>
/// Typed reads of scalar nodes with Kubernetes' strictness: <c>port: "80"</c> is a string where an
/// integer is expected (an error, as the API server says), <c>version: 1</c> is an integer where a
/// string is expected (an error; quote it). A null value is the same as an absent field.
/// </summary>
internal static class Values
{
    public static string? String(ObjectScope scope, Node? node, string path)
    {
        switch (node)
        {
            case null:
            case ScalarNode { IsNull: true }:
                return null;
            case ScalarNode { Type: ScalarType.String } scalar:
                return scalar.Value;
            case ScalarNode scalar:
                scope.Error(path, node, $"must be a string, got {scalar.Describe()} (quote it: {ScalarNode.Quote(scalar.Value)})");
                return null;
            default:
                scope.Error(path, node, $"must be a string, got {node.Describe()}");
                return null;
        }
    }

    public static int? Int(ObjectScope scope, Node? node, string path)
    {
        switch (node)
        {
            case null:
            case ScalarNode { IsNull: true }:
                return null;
            case ScalarNode { Type: ScalarType.Int } scalar:
                if (TryParseInt(scalar.Value, out var value))
                {
                    return value;
                }

                scope.Error(path, node, $"must be a 32-bit integer, got {scalar.Describe()}");
                return null;
            default:
                scope.Error(path, node, $"must be an integer, got {node.Describe()}");
                return null;
        }
    }

    public static bool? Bool(ObjectScope scope, Node? node, string path)
    {
        switch (node)
        {
            case null:
            case ScalarNode { IsNull: true }:
                return null;
            case ScalarNode { Type: ScalarType.Bool } scalar:
                return scalar.Value is "true" or "True" or "TRUE";
            default:
                scope.Error(path, node, $"must be true or false, got {node.Describe()}");
                return null;
        }
    }

    /// <summary>An integer from a string (annotations are strings), with the same message as a wrong-typed field.</summary>
    public static int? IntFromString(ObjectScope scope, Node? at, string text, string path)
    {
        var trimmed = text.Trim();
        if (ScalarResolver.ResolvePlain(trimmed) == ScalarType.Int && TryParseInt(trimmed, out var value))
        {
            return value;
        }

        scope.Error(path, at, $"must be an integer, got {ScalarNode.Quote(text)}");
        return null;
    }

    /// <summary>
    /// A strict IP address: IPv4 only as four decimal parts without leading zeros (.NET alone would read
    /// <c>10.1</c> or <c>010.0.0.1</c>, Kubernetes refuses them), IPv6 without a zone.
    /// </summary>
    public static IPAddress? ParseIP(string text)
    {
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return !text.Contains('%', StringComparison.Ordinal) && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : null;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }

        Span<byte> bytes = stackalloc byte[4];
        for (var i = 0; i < 4; i++)
        {
            var part = parts[i];
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit))
            {
                return null;
            }

            var number = int.Parse(part, CultureInfo.InvariantCulture);
            if (number > 255)
            {
                return null;
            }

            bytes[i] = (byte)number;
        }

        return new IPAddress(bytes);
    }

    public static IPAddress? IP(ObjectScope scope, Node? node, string path)
    {
        var text = String(scope, node, path);
        if (text is null)
        {
            return null;
        }

        var address = ParseIP(text);
        if (address is null)
        {
            scope.Error(path, node, $"must be a valid IP address, got {ScalarNode.Quote(text)}");
        }

        return address;
    }

    /// <summary>A CIDR as Kubernetes reads <c>loadBalancerSourceRanges</c>: spaces trimmed, host bits allowed (and cleared).</summary>
    public static IPNetwork? Cidr(ObjectScope scope, Node? node, string path)
    {
        var text = String(scope, node, path);
        if (text is null)
        {
            return null;
        }

        var trimmed = text.Trim();
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        var address = slash > 0 ? ParseIP(trimmed[..slash]) : null;
        var prefixText = slash > 0 ? trimmed[(slash + 1)..] : string.Empty;
        var maxPrefix = address?.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32;
        if (address is null || prefixText.Length is 0 or > 3 || !prefixText.All(char.IsAsciiDigit)
            || int.Parse(prefixText, CultureInfo.InvariantCulture) is var prefix && prefix > maxPrefix)
        {
            scope.Error(path, node, $"must be a CIDR such as 10.0.0.0/8, got {ScalarNode.Quote(text)}");
            return null;
        }

        return new IPNetwork(Mask(address, prefix), prefix);
    }

    /// <summary>Checks an IANA service name (a named port), the way Kubernetes does; returns why it is not one, or null.</summary>
    public static string? PortNameProblem(string name)
    {
        if (name.Length is 0 or > 15)
        {
            return "must be 1-15 characters";
        }

        if (!name.All(static c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
        {
            return "must contain only lower-case letters (a-z), digits (0-9) and hyphens (-)";
        }

        if (!name.Any(char.IsAsciiLetterLower))
        {
            return "must contain at least one letter (a-z)";
        }

        if (name.Contains("--", StringComparison.Ordinal))
        {
            return "must not contain consecutive hyphens";
        }

        return name[0] == '-' || name[^1] == '-' ? "must not begin or end with a hyphen" : null;
    }

    /// <summary>Checks a port number is 1-65535; reports and returns false otherwise.</summary>
    public static bool CheckPort(ObjectScope scope, Node? node, string path, int port)
    {
        if (port is >= 1 and <= 65535)
        {
            return true;
        }

        scope.Error(path, node, string.Create(CultureInfo.InvariantCulture, $"must be 1-65535, got {port}"));
        return false;
    }

    private static bool TryParseInt(string text, out int value)
    {
        long parsed;
        if (text.StartsWith("0x", StringComparison.Ordinal))
        {
            var ok = long.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out parsed) && parsed >= 0;
            return Narrow(ok, parsed, out value);
        }

        if (text.StartsWith("0o", StringComparison.Ordinal))
        {
            parsed = 0;
            foreach (var c in text.AsSpan(2))
            {
                parsed = (parsed * 8) + (c - '0');
                if (parsed > int.MaxValue)
                {
                    value = 0;
                    return false;
                }
            }

            return Narrow(true, parsed, out value);
        }

        return Narrow(long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out parsed), parsed, out value);
    }

    private static bool Narrow(bool ok, long parsed, out int value)
    {
        ok &= parsed is >= int.MinValue and <= int.MaxValue;
        value = ok ? (int)parsed : 0;
        return ok;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPAddress(bytes);
    }
}
