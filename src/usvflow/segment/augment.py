"""The paper's batch-wise stochastic augmentations (Santana & Dietrich 2024, section 2.2.3), on any device.

Every random number is drawn from one CPU generator and then moved to the batch's device, so a seed gives the
same augmentations on the CPU and on a GPU (up to floating-point rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    """The paper's probabilities (per batch) and this implementation's magnitudes."""

    p_affine: float = 0.75
    p_contrast: float = 0.25
    p_blur: float = 0.25
    p_noise_or_elastic: float = 0.33
    rotate_deg: float = 10.0
    scale: tuple[float, float] = (0.85, 1.15)
    translate: float = 0.1
    shear_deg: float = 8.0
    contrast: tuple[float, float] = (0.6, 1.6)
    blur_sigma: tuple[float, float] = (0.3, 1.2)
    noise_sd: tuple[float, float] = (0.02, 0.1)
    freq_noise_bands: tuple[int, int] = (1, 4)
    elastic_alpha: float = 4.0  # displacement in pixels
    elastic_sigma: float = 4.0  # smoothness in pixels


NOISE_KINDS = ("additive", "gaussian", "frequency", "elastic")


def _gaussian_kernel1d(sigma: float) -> torch.Tensor:
    r = max(1, int(math.ceil(3 * sigma)))
    x = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of (n, 1, H, W) images (reflect padding), on ``x``'s device."""
    k = _gaussian_kernel1d(sigma).to(x)
    r = k.numel() // 2
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1))


class Augmenter:
    """Batch-wise stochastic augmentations, identical geometry for image and mask.

    Each of the four conditions (a–d) is drawn independently once per batch, so a batch gets anything from no
    augmentation to all four. Geometric ones (affine, elastic) move the mask with the image (nearest
    neighbour, so the mask stays binary); photometric ones (contrast, blur, noise) leave the mask alone.
    """

    def __init__(self, cfg: AugmentConfig | None = None, seed: int = 0) -> None:
        self.cfg = cfg or AugmentConfig()
        self.gen = torch.Generator().manual_seed(seed)

    def _u(self, lo: float, hi: float, n: int = 1) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(n, generator=self.gen)

    def affine(self, img: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c, n = self.cfg, img.shape[0]
        ang = torch.deg2rad(self._u(-c.rotate_deg, c.rotate_deg, n))
        sh = torch.deg2rad(self._u(-c.shear_deg, c.shear_deg, n))
        sc = self._u(*c.scale, n)
        tx, ty = self._u(-c.translate, c.translate, n) * 2, self._u(-c.translate, c.translate, n) * 2
        cos, sin = torch.cos(ang), torch.sin(ang)
        theta = torch.stack([torch.stack([cos / sc, (-sin + torch.tan(sh)) / sc, tx], 1),
                             torch.stack([sin / sc, cos / sc, ty], 1)], 1).to(img)
        grid = F.affine_grid(theta, list(img.shape), align_corners=False)
        return self._warp(img, mask, grid)

    def elastic(self, img: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.cfg
        n, _, h, w = img.shape
        disp = (torch.rand((n, 2, h, w), generator=self.gen) * 2 - 1).to(img)
        disp = gaussian_blur(disp.view(n * 2, 1, h, w), c.elastic_sigma).view(n, 2, h, w)
        disp = disp / disp.abs().amax(dim=(2, 3), keepdim=True).clamp_min(1e-6) * c.elastic_alpha
        ident = F.affine_grid(torch.eye(2, 3, device=img.device).expand(n, 2, 3), [n, 1, h, w],
                              align_corners=False)
        grid = ident + torch.stack([disp[:, 0] * 2 / w, disp[:, 1] * 2 / h], dim=-1)
        return self._warp(img, mask, grid)

    @staticmethod
    def _warp(img: torch.Tensor, mask: torch.Tensor, grid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # Pixels warped in from outside the crop take the crop's background (its median), not black.
        bg = img.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
        out = F.grid_sample(img - bg, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + bg
        m = F.grid_sample(mask, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        return out, m

    def contrast(self, img: torch.Tensor) -> torch.Tensor:
        a = self._u(*self.cfg.contrast).item()
        mean = img.mean(dim=(2, 3), keepdim=True)
        return ((img - mean) * a + mean).clamp(0, 1)

    def blur(self, img: torch.Tensor) -> torch.Tensor:
        return gaussian_blur(img, self._u(*self.cfg.blur_sigma).item())

    def noise(self, img: torch.Tensor, kind: str) -> torch.Tensor:
        c = self.cfg
        sd = self._u(*c.noise_sd).item()
        if kind == "additive":  # one random offset per image: a brighter or darker background
            img = img + ((torch.rand((img.shape[0], 1, 1, 1), generator=self.gen) - 0.5) * 4 * sd).to(img)
        elif kind == "gaussian":  # independent per-pixel noise
            img = img + (torch.randn(img.shape, generator=self.gen) * sd).to(img)
        elif kind == "frequency":  # a few frequency rows lit across the whole crop, like a tonal band
            n, _, h, _ = img.shape
            rows = torch.zeros((n, 1, h, 1))
            for i in range(n):
                k = int(torch.randint(c.freq_noise_bands[0], c.freq_noise_bands[1] + 1, (1,), generator=self.gen))
                idx = torch.randint(0, h, (k,), generator=self.gen)
                rows[i, 0, idx, 0] = self._u(2 * sd, 6 * sd, k)
            img = img + rows.to(img) * (1 + 0.3 * torch.randn(img.shape, generator=self.gen).to(img))
        return img.clamp(0, 1)

    def __call__(self, img: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        """Augment one batch; also return the names of what was applied (for the gallery and tests)."""
        c, applied = self.cfg, []
        if torch.rand(1, generator=self.gen) < c.p_affine:
            img, mask = self.affine(img, mask)
            applied.append("affine")
        if torch.rand(1, generator=self.gen) < c.p_contrast:
            img = self.contrast(img)
            applied.append("contrast")
        if torch.rand(1, generator=self.gen) < c.p_blur:
            img = self.blur(img)
            applied.append("blur")
        if torch.rand(1, generator=self.gen) < c.p_noise_or_elastic:
            kind = NOISE_KINDS[int(torch.randint(0, len(NOISE_KINDS), (1,), generator=self.gen))]
            if kind == "elastic":
                img, mask = self.elastic(img, mask)
            else:
                img = self.noise(img, kind)
            applied.append(kind)
        return img.clamp(0, 1), mask, applied
