"""StructureFlow (Ren et al., ICCV 2019): networks, the authors' checkpoint files, the framework adapter."""
from inpainting.nets.structureflow.adapter import StructureFlowInpainter
from inpainting.nets.structureflow.checkpoint import (
                                                      FLOW_GENERATOR_FILE,
                                                      STRUCTURE_GENERATOR_FILE,
                                                      load_structureflow_network,
)
from inpainting.nets.structureflow.network import (
                                                      META,
                                                      SIZE_MULTIPLE,
                                                      FlowGenerator,
                                                      MultiDiscriminator,
                                                      StructureGenerator,
)

__all__ = ["FLOW_GENERATOR_FILE", "FlowGenerator", "load_structureflow_network", "META", "MultiDiscriminator",
           "SIZE_MULTIPLE", "STRUCTURE_GENERATOR_FILE", "StructureFlowInpainter", "StructureGenerator"]
