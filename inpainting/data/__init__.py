"""Data: image sources, mask sources, transforms and the generic ``InpaintingDataModule``."""
from inpainting.data.bins import PAPER_BIN_EDGES, bin_index, bin_names
from inpainting.data.datamodule import InpaintingDataModule
from inpainting.data.io import DataError, load_image, load_mask_file
from inpainting.data.mask_files import MaskFiles, paired_mask_files
from inpainting.data.masks import FreeFormMaskGenerator, MaskPolarity, hole_ratio, sample_rng
from inpainting.data.sources import (
                                     ImageList,
                                     celeba,
                                     dunhuang_images,
                                     embedded_photos,
                                     image_folder,
                                     image_list,
                                     places2,
                                     read_file_list,
)
from inpainting.data.splits import held_out_split

__all__ = [
    "PAPER_BIN_EDGES", "bin_index", "bin_names", "InpaintingDataModule", "DataError",
    "load_image", "load_mask_file", "MaskFiles", "paired_mask_files", "FreeFormMaskGenerator", "MaskPolarity",
    "hole_ratio", "sample_rng", "held_out_split", "ImageList", "celeba", "dunhuang_images", "embedded_photos", "image_folder",
    "image_list", "places2", "read_file_list",
]
