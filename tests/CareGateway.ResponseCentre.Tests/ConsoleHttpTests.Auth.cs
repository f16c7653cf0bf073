using System.Buffers.Binary;
using System.Net;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;
using Microsoft.AspNetCore.Identity;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>Issue 19 finding 14 over HTTP: the hash's strength follows the guidance, the second factor.</summary>
public sealed partial class ConsoleHttpTests
{
    /// <summary>The iteration count of an Identity v3 hash: after the format marker (1 byte) and the PRF (4 bytes), big-endian.</summary>
    private static int Iterations(string hash) => BinaryPrimitives.ReadInt32BigEndian(Convert.FromBase64String(hash).AsSpan(5, 4));

    private static int Prf(string hash) => BinaryPrimitives.ReadInt32BigEndian(Convert.FromBase64String(hash).AsSpan(1, 4));

    /// <summary>The service's hasher at 1,000 iterations, for tests that log in often and do not test the hash's strength.</summary>
    internal static readonly IPasswordHasher<CentreUser> CheapHasher = PasswordHashing.NewHasher(1_000);

    [Fact]
    public async Task A_password_hashed_with_fewer_iterations_is_rehashed_at_login_and_the_security_stamp_is_kept()
    {
        await using var centre = await CentreHost.StartAsync(CentreHost.Settings(_dir.File("rehash.db"), brokerPort: null)); // the real hasher
        var kari = await centre.AddUserAsync("kari", Roles.Operator, Password);
        Assert.Equal(PasswordHashing.IterationCount, Iterations(kari.PasswordHash)); // add-user hashes at today's count
        var old = kari with { PasswordHash = new PasswordHasher<CentreUser>().HashPassword(kari, Password) }; // Identity's default
        Assert.Equal(100_000, Iterations(old.PasswordHash));
        await centre.Store.SaveUserAsync(old, default);

        using var browser = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.LoginAsync("kari", Password)).StatusCode);

        var stored = (await centre.Store.FindUserAsync("kari", default))!;
        Assert.Equal(PasswordHashing.IterationCount, Iterations(stored.PasswordHash));
        Assert.Equal((int)Microsoft.AspNetCore.Cryptography.KeyDerivation.KeyDerivationPrf.HMACSHA512, Prf(stored.PasswordHash));
        Assert.Equal(old.SecurityStamp, stored.SecurityStamp); // a rehash is not a password change
        Assert.Equal(PasswordVerificationResult.Success, PasswordHashing.NewHasher().VerifyHashedPassword(stored, stored.PasswordHash, Password));

        // Once strong, a login leaves the hash as it is.
        using var again = new Browser(centre.BaseUrl);
        Assert.Equal(HttpStatusCode.Redirect, (await again.LoginAsync("kari", Password)).StatusCode);
        Assert.Equal(stored.PasswordHash, (await centre.Store.FindUserAsync("kari", default))!.PasswordHash);
    }
}
