using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CareGateway.ResponseCentre.Service.Vkp;

/// <summary>
/// The centre's key and the client assertions it signs for <c>private_key_jwt</c> (RFC 7523, OpenID Connect Core 9):
/// a JWT with <c>iss</c> = <c>sub</c> = the client id, <c>aud</c> = the token endpoint, a unique <c>jti</c>, and a short
/// <c>exp</c>, signed RS256, PS256 or ES256. The key is read once at start; it is never written to the log.
/// </summary>
public sealed class ClientAssertion : IDisposable
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>The JWT <c>typ</c> header of a client assertion.</summary>
    public const string AssertionJwtType = "client-authentication+jwt";

    public static readonly IReadOnlyList<string> Algorithms = ["RS256", "PS256", "ES256"];

    private readonly RSA? _rsa;
    private readonly ECDsa? _ec;

    private ClientAssertion(RSA? rsa, ECDsa? ec, string algorithm, string? keyId)
    {
        _rsa = rsa;
        _ec = ec;
        Algorithm = algorithm;
        KeyId = keyId ?? Thumbprint();
    }

    /// <summary>The signing algorithm (<c>alg</c>).</summary>
    public string Algorithm { get; }

    /// <summary>The <c>kid</c>: the JWK's own, or its RFC 7638 thumbprint.</summary>
    public string KeyId { get; }

    /// <summary>The public half as a JWK (what the client registration holds), for the log and the tests.</summary>
    public JsonObject PublicJwk()
    {
        var jwk = PublicMembers();
        jwk["kid"] = KeyId;
        jwk["alg"] = Algorithm;
        jwk["use"] = "sig";
        return jwk;
    }

    /// <summary>
    /// Reads a PEM (PKCS#8 <c>PRIVATE KEY</c>, <c>RSA PRIVATE KEY</c> or <c>EC PRIVATE KEY</c>) or a JWK file with its
    /// private part. Throws <see cref="InvalidOperationException"/> with a sentence naming the setting, never the key.
    /// </summary>
    public static ClientAssertion Load(string path, string? algorithm)
    {
        const string Key = "Centre:VkpSender:PrivateKeyPath";
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{Key}: {path} cannot be read ({ex.Message})", ex);
        }

        try
        {
            return text.TrimStart().StartsWith('{') ? FromJwk(text, algorithm) : FromPem(text, algorithm);
        }
        catch (Exception ex) when (ex is CryptographicException or JsonException or FormatException or ArgumentException)
        {
            throw new InvalidOperationException($"{Key}: {path} holds no private key this service can use (an unencrypted PEM private key, RSA or EC P-256, or a JWK with its private part 'd')", ex);
        }
    }

    private static ClientAssertion FromPem(string pem, string? algorithm)
    {
        if (pem.Contains("ENCRYPTED PRIVATE KEY", StringComparison.Ordinal))
        {
            throw new ArgumentException("an encrypted PEM key is not supported");
        }

        if (pem.Contains("EC PRIVATE KEY", StringComparison.Ordinal))
        {
            return Ec(ImportEc(pem), algorithm, null);
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return Rsa(rsa, algorithm, null);
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
        }

        return Ec(ImportEc(pem), algorithm, null);

        static ECDsa ImportEc(string pem)
        {
            var ec = ECDsa.Create();
            try
            {
                ec.ImportFromPem(pem);
                return ec;
            }
            catch
            {
                ec.Dispose();
                throw;
            }
        }
    }

    private static ClientAssertion FromJwk(string json, string? algorithm)
    {
        var jwk = JsonNode.Parse(json)?.AsObject() ?? throw new ArgumentException("not a JSON object");
        string? Member(string name) => jwk[name]?.GetValue<string>();
        byte[] Bytes(string name) => Base64Url.DecodeFromChars(Member(name) ?? throw new ArgumentException($"the JWK has no '{name}'"));
        algorithm ??= Member("alg");
        switch (Member("kty"))
        {
            case "RSA":
                var rsa = RSA.Create();
                rsa.ImportParameters(new RSAParameters
                {
                    Modulus = Bytes("n"), Exponent = Bytes("e"), D = Bytes("d"), P = Bytes("p"), Q = Bytes("q"),
                    DP = Bytes("dp"), DQ = Bytes("dq"), InverseQ = Bytes("qi"),
                });
                return Rsa(rsa, algorithm, Member("kid"));
            case "EC" when Member("crv") == "P-256":
                var ec = ECDsa.Create(new ECParameters { Curve = ECCurve.NamedCurves.nistP256, Q = new ECPoint { X = Bytes("x"), Y = Bytes("y") }, D = Bytes("d") });
                return Ec(ec, algorithm, Member("kid"));
            default:
                throw new ArgumentException("only RSA and EC P-256 keys are supported");
        }
    }

    private static ClientAssertion Rsa(RSA rsa, string? algorithm, string? kid)
    {
        algorithm ??= "RS256";
        if (algorithm is not ("RS256" or "PS256") || rsa.KeySize < 2048)
        {
            rsa.Dispose();
            throw new ArgumentException("an RSA key of at least 2048 bits signs RS256 or PS256");
        }

        return new ClientAssertion(rsa, null, algorithm, kid);
    }

    private static ClientAssertion Ec(ECDsa ec, string? algorithm, string? kid)
    {
        algorithm ??= "ES256";
        if (algorithm != "ES256" || ec.KeySize != 256)
        {
            ec.Dispose();
            throw new ArgumentException("an EC key signs ES256 on P-256 only");
        }

        return new ClientAssertion(null, ec, algorithm, kid);
    }

    /// <summary>RFC 7638: SHA-256 of the required public members in lexical order, without white space.</summary>
    private string Thumbprint()
    {
        var members = PublicMembers();
        var canonical = _rsa is not null
            ? $"{{\"e\":\"{members["e"]}\",\"kty\":\"RSA\",\"n\":\"{members["n"]}\"}}"
            : $"{{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"{members["x"]}\",\"y\":\"{members["y"]}\"}}";
        return Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    private JsonObject PublicMembers()
    {
        if (_rsa is not null)
        {
            var p = _rsa.ExportParameters(false);
            return new JsonObject { ["kty"] = "RSA", ["n"] = Base64Url.EncodeToString(p.Modulus), ["e"] = Base64Url.EncodeToString(p.Exponent) };
        }

        var q = _ec!.ExportParameters(false).Q;
        return new JsonObject { ["kty"] = "EC", ["crv"] = "P-256", ["x"] = Base64Url.EncodeToString(q.X), ["y"] = Base64Url.EncodeToString(q.Y) };
    }

    /// <summary>One signed assertion, valid from <paramref name="now"/> for <paramref name="lifetime"/>, with a new <c>jti</c>.</summary>
    public string Create(string clientId, string audience, DateTimeOffset now, TimeSpan lifetime)
    {
        // typ as draft-ietf-oauth-rfc7523bis asks, so the assertion cannot be mistaken for another kind of JWT; OpenIddict
        // 7 (the tests' stand-in) refuses a plain "JWT", and HelseID's guidance names the same type.
        var header = new JsonObject { ["alg"] = Algorithm, ["typ"] = AssertionJwtType, ["kid"] = KeyId };
        var seconds = now.ToUnixTimeSeconds();
        var payload = new JsonObject
        {
            ["iss"] = clientId,
            ["sub"] = clientId,
            ["aud"] = audience,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = seconds,
            ["nbf"] = seconds,
            ["exp"] = seconds + (long)lifetime.TotalSeconds,
        };
        var signingInput = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.ToJsonString()));
        var data = Encoding.ASCII.GetBytes(signingInput);
        var signature = Algorithm switch
        {
            "RS256" => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            "PS256" => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
            // JWS wants the raw r||s form (IEEE P1363), which is what SignData gives by default.
            _ => _ec!.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
        };
        return signingInput + "." + Base64Url.EncodeToString(signature);
    }

    public void Dispose()
    {
        _rsa?.Dispose();
        _ec?.Dispose();
    }
}
