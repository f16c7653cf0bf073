using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// How operators' passwords are hashed: ASP.NET Core Identity's v3 format, PBKDF2 with HMAC-SHA512 (the hasher's own
/// choice in this version; the format records it, so a later change of function is read back correctly) at
/// <see cref="IterationCount"/> iterations. A hash made with fewer iterations (Identity's default is 100,000) is
/// replaced at the next successful login (<see cref="RehashIfNeededAsync"/>).
/// </summary>
public static class PasswordHashing
{
    /// <summary>
    /// OWASP's Password Storage Cheat Sheet: 210,000 iterations for PBKDF2-HMAC-SHA512 (600,000 would be for
    /// HMAC-SHA256, which this hasher does not use). Raise it here when the guidance moves; old hashes follow on login.
    /// </summary>
    public const int IterationCount = 210_000;

    /// <summary>The hasher the service and <c>add-user</c> use.</summary>
    public static IPasswordHasher<CentreUser> NewHasher(int iterationCount = IterationCount) =>
        new PasswordHasher<CentreUser>(Options.Create(new PasswordHasherOptions
        {
            CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
            IterationCount = iterationCount,
        }));

    /// <summary>
    /// After a right password whose hash is of an older strength, stores the hash made now from the same password.
    /// The security stamp is kept: a rehash is not a password change and must not end the user's sessions.
    /// </summary>
    public static async Task RehashIfNeededAsync(ICentreStore store, IPasswordHasher<CentreUser> hasher, CentreUser user,
        PasswordVerificationResult verified, string password, CancellationToken ct)
    {
        if (verified != PasswordVerificationResult.SuccessRehashNeeded)
        {
            return;
        }

        await store.SaveUserAsync(user with { PasswordHash = hasher.HashPassword(user, password) }, ct);
    }
}
