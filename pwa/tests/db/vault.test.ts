import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { openTerrainDB, PinDisabledError, Vault, VaultLockedError, WrongPasswordError, WrongPinError } from "../../src/db/index.js";
import { FAST, uniqueName } from "./helpers.js";

async function fresh() {
  const db = openTerrainDB(uniqueName("vault"));
  const vault = await Vault.create(db, { pin: "2468", password: "secret-password" }, { ...FAST, maxPinAttempts: 3 });
  const sealed = await vault.seal({ answer: "Famille Dupont" }, "x");
  vault.lock();
  return { db, vault, sealed };
}

describe("Vault", () => {
  it("locks, and unlocks with the right PIN only", async () => {
    const { vault, sealed } = await fresh();
    await expect(vault.open(sealed, "x")).rejects.toBeInstanceOf(VaultLockedError);
    const error = await vault.unlockWithPin("0000").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongPinError);
    expect((error as WrongPinError).attemptsLeft).toBe(2);
    expect(vault.isUnlocked).toBe(false);
    await vault.unlockWithPin("2468");
    expect(await vault.open(sealed, "x")).toEqual({ answer: "Famille Dupont" });
  });

  it("disables the PIN after too many wrong ones; the password recovers and sets a new PIN", async () => {
    const { db, vault, sealed } = await fresh();
    for (let i = 0; i < 3; i++) await expect(vault.unlockWithPin("9999")).rejects.toBeInstanceOf(WrongPinError);
    await expect(vault.unlockWithPin("2468")).rejects.toBeInstanceOf(PinDisabledError);
    await expect(vault.recoverWithPassword("not-it", "1357")).rejects.toBeInstanceOf(WrongPasswordError);
    await vault.recoverWithPassword("secret-password", "1357");
    expect(await vault.open(sealed, "x")).toEqual({ answer: "Famille Dupont" });
    // A new handle (app restarted) opens with the new PIN, not the old one.
    const again = await Vault.open(db, FAST);
    await expect(again.unlockWithPin("2468")).rejects.toBeInstanceOf(WrongPinError);
    await again.unlockWithPin("1357");
    expect(await again.open(sealed, "x")).toEqual({ answer: "Famille Dupont" });
  });

  it("never stores the data key in clear and re-wraps for a changed password", async () => {
    const { db, vault, sealed } = await fresh();
    const meta = (await db.meta.get("vault"))?.value as Record<string, unknown>;
    expect(Object.keys(meta).sort()).toEqual(["failedPinAttempts", "format", "password", "pin"]);
    await vault.updatePassword("2468", "new-password");
    await expect(vault.recoverWithPassword("secret-password", "1111")).rejects.toBeInstanceOf(WrongPasswordError);
    await vault.recoverWithPassword("new-password", "1111");
    expect(await vault.open(sealed, "x")).toEqual({ answer: "Famille Dupont" });
  });
});
